"""`index_daily` over a range: the daily bars of KOSPI, KOSDAQ and KOSPI200 from the index
chart, and the newest KOSPI session KIS has."""

from __future__ import annotations

import datetime as dt

import polars as pl

from kis_pipeline.ingest.days import KOSPI, LOOKAHEAD
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.index import fetch_index_daily

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
