"""`symbols`: one day's listed ordinary stocks from the KOSPI, KOSDAQ and KONEX master files.

The master files only describe the current listing, so a day before KIS's newest session
cannot be captured any more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from kis_pipeline.ingest.days import newest_session
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.master import fetch_universe
from kis_pipeline.warehouse import TABLES

SCHEMA = TABLES["symbols"].schema


def snapshot(master: pl.DataFrame, day: dt.date, only: Sequence[str] | None) -> pl.DataFrame:
    """The `symbols` rows of one day from a parsed master frame (ordinary stocks only)."""
    frame = master.with_columns(pl.lit(day, dtype=pl.Date).alias("date"))
    if only is not None:
        frame = frame.filter(pl.col("symbol").is_in(list(only)))
    return frame.select(list(SCHEMA)).cast(dict(SCHEMA)).sort("symbol")


def capture(
    client: KisClient, day: dt.date, only: Sequence[str] | None, today: dt.date
) -> tuple[pl.DataFrame | None, str]:
    """`day`'s snapshot, or None and the reason it cannot be captured."""
    newest = newest_session(client, day, today)
    if newest is None or day >= newest:
        return snapshot(fetch_universe(client), day, only), ""
    return None, (
        f"{day} is before the newest session {newest}: the master files only "
        "describe the current listing, so past snapshots cannot be captured"
    )
