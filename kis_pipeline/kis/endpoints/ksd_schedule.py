"""Fetching a KSD schedule that has no paging by record date: ksdinfo/bonus-issue and
ksdinfo/cap-dcrs take `CTS` blank, `F_DT`..`T_DT` and `SHT_CD` blank for every code, with no
documented row cap, so a range is asked for in 31-day windows and the answers are joined."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.kis.endpoints._base import Endpoint
from kis_pipeline.kis.paging import split_windows
from kis_pipeline.kis.parse import conform, yyyymmdd

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

WINDOW_DAYS = 31
SHARE_CLASSES = {"보통": "common", "우선": "preferred"}


def fetch_by_record_date(
    client: KisClient, endpoint: Endpoint, schema: pl.Schema, start: dt.date, end: dt.date
) -> pl.DataFrame:
    """Every row of `endpoint` with a `record_date` in [start, end], all codes, as `schema`
    (share classes in English), by record date then code."""
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    pages = [
        endpoint.fetch(
            client, {"CTS": "", "F_DT": yyyymmdd(first), "T_DT": yyyymmdd(last), "SHT_CD": ""}
        ).frame
        for first, last in split_windows(start, end, WINDOW_DAYS)
    ]
    frame = pl.concat([pl.DataFrame(schema=schema), *pages], how="vertical")
    frame = frame.with_columns(share_class=pl.col("share_class").replace(SHARE_CLASSES))
    frame = frame.filter(pl.col("record_date").is_between(start, end)).unique(maintain_order=True)
    return conform(frame.sort("record_date", "symbol"), schema)
