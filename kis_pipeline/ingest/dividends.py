"""`dividends` of one record year from the KSD schedule: all issues at once, or symbol by
symbol when a run is restricted to fewer symbols than the year has windows."""

from __future__ import annotations

import datetime as dt

import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.dividends import ALL_ISSUES_WINDOW_DAYS, fetch_dividends


def fetch_year(
    client: KisClient, year: int, only: tuple[str, ...] | None
) -> tuple[pl.DataFrame, str]:
    """The year's schedule, and which way it was fetched ("all issues" or "per symbol")."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    windows = -(-((end - start).days + 1) // ALL_ISSUES_WINDOW_DAYS)
    if only is not None and len(only) < windows:
        frames = [fetch_dividends(client, start, end, symbol=s) for s in only]
        return pl.concat([pl.DataFrame(schema=schemas.DIVIDENDS), *frames]), "per symbol"
    frame = fetch_dividends(client, start, end)
    if only is not None:
        frame = frame.filter(pl.col("symbol").is_in(list(only)))
    return frame, "all issues"
