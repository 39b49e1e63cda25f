"""Fetching a KSD schedule by record date: ksdinfo/bonus-issue, cap-dcrs, paidin-capin and
merger-split take `CTS` blank, `F_DT`..`T_DT` and `SHT_CD` blank for every code (paidin-capin
also `GB1`, what the dates select), with no documented row cap, so a range is asked for in
31-day windows and the answers are joined."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.kis.endpoints._base import Endpoint
from kis_pipeline.kis.paging import split_windows
from kis_pipeline.kis.parse import conform, yyyymmdd
from kis_pipeline.kis.records import RecordSpec

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

KSDINFO = "/uapi/domestic-stock/v1/ksdinfo"
WINDOW_DAYS = 31
SHARE_CLASSES = {"보통": "common", "우선": "preferred"}


def fetch_by_record_date(
    client: KisClient,
    endpoint: Endpoint,
    schema: pl.Schema,
    start: dt.date,
    end: dt.date,
    extra: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """Every row of `endpoint` with a `record_date` in [start, end], all codes, as `schema`
    (share classes in English), by record date then code; `extra` are further parameters."""
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    pages = [
        endpoint.fetch(
            client,
            {
                "CTS": "",
                **(extra or {}),
                "F_DT": yyyymmdd(first),
                "T_DT": yyyymmdd(last),
                "SHT_CD": "",
            },
        ).frame
        for first, last in split_windows(start, end, WINDOW_DAYS)
    ]
    frame = pl.concat([pl.DataFrame(schema=schema), *pages], how="vertical")
    if "share_class" in schema:
        frame = frame.with_columns(share_class=pl.col("share_class").replace(SHARE_CLASSES))
    frame = frame.filter(pl.col("record_date").is_between(start, end)).unique(maintain_order=True)
    return conform(frame.sort("record_date", "symbol"), schema)


@dataclass(frozen=True)
class KsdSchedule:
    """One KSD schedule, declared: the endpoint `ksdinfo/<name>` with its TR_ID and rows, and
    the parameters it sends beyond the dates (`extra`)."""

    name: str
    tr_id: str
    rows: RecordSpec
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(
            f"ksdinfo-{self.name}",
            f"{KSDINFO}/{self.name}",
            self.tr_id,
            container="output1",
            rows=self.rows,
        )

    @property
    def table(self) -> str:
        return self.rows.table

    def fetch(self, client: KisClient, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Every row with a record date in [start, end], all codes, as the table's schema."""
        return fetch_by_record_date(client, self.endpoint, self.rows.schema, start, end, self.extra)
