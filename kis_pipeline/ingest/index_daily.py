"""`index_daily` over a range: the daily bars of KOSPI, KOSDAQ and KOSPI200 from the index
chart, and the newest KOSPI session KIS has; and the bars of every sector sub-index of KOSPI
and KOSDAQ (`fetch_sector_days`)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from kis_pipeline.ingest.days import KOSPI, LOOKAHEAD
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.index import CATEGORIES, fetch_index_daily, fetch_sub_indices
from kis_pipeline.kis.schemas import INDEX_DAILY

INDEX_CODES = ("0001", "1001", "2001")


def fetch_index_days(
    client: KisClient, start: dt.date, end: dt.date, today: dt.date
) -> tuple[pl.DataFrame, dt.date | None]:
    """Bars of every index code in [start, end], and the newest KOSPI session KIS has.

    The chart is read a little past `end` (never past `today`) so that a closed last day can
    be told from a day KIS has not published yet.
    """
    fetch_end = max(end, min(end + LOOKAHEAD, today))
    frames = [fetch_index_daily(client, code, start, fetch_end) for code in INDEX_CODES]
    bars = pl.concat(frames, how="vertical")
    kospi = bars.filter(pl.col("index_code") == KOSPI)["date"]
    newest = kospi.max() if kospi.len() else None
    return bars.filter(pl.col("date").is_between(start, end)), newest  # type: ignore[return-value]


def fetch_sector_days(
    client: KisClient, start: dt.date, end: dt.date
) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """Bars of every sector sub-index of KOSPI and KOSDAQ in [start, end], and their codes:
    one call per category for the codes (SPEC §12.4), then each code's chart (§12.3)."""
    codes = tuple(code for parent in CATEGORIES for code in fetch_sub_indices(client, parent))
    frames = [fetch_index_daily(client, code, start, end) for code in codes]
    return pl.concat([pl.DataFrame(schema=INDEX_DAILY), *frames], how="vertical"), codes
