"""KSD listing schedule, ksdinfo/list-info HHKDB669107C0 (SPEC §10.8's siblings; fields from
the official samples, `docs/listing_schedule.md`).

One row per listing of shares: an IPO (`issue_type` "신규상장") or new shares of a listed name
(rights issue, bonus issue, split, option or bond exercise). It is how a new warehouse learns
the codes of names listed since a date, delisted ones included, which no master file shows any
more. Real only (not in the paper environment).

A call answers at most 100 rows, newest first, and its `CTS` continuation does not page, so a
range is fetched in windows that halve wherever a call came back full; a single day that is
still full is kept and reported as cut.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._base import Endpoint
from kis_pipeline.kis.paging import split_windows
from kis_pipeline.kis.parse import conform, yyyymmdd
from kis_pipeline.kis.records import RecordSpec

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

LISTING_EVENTS_PATH = "/uapi/domestic-stock/v1/ksdinfo/list-info"
LISTING_EVENTS_TR_ID = "HHKDB669107C0"
ROWS_PER_CALL = 100
WINDOW_DAYS = 31
NEW_LISTING = "신규상장"
SHARE_CLASSES = {"보통": "common", "우선": "preferred"}

LISTING_EVENT_ROWS = RecordSpec(
    table="listing_events",
    schema=schemas.LISTING_EVENTS,
    fields={
        "list_dt": "date",
        "sht_cd": "symbol",
        "isin_name": "name",
        "stk_kind": "share_class",
        "issue_type": "reason",
        "issue_stk_qty": "shares",
        "tot_issue_stk_qty": "total_shares",
        "issue_price": "issue_price",
    },
    carried=("list_dt", "sht_cd", "issue_type"),
    required=("date", "symbol", "reason"),
    non_negative=("shares", "total_shares", "issue_price"),
)

LISTING_EVENTS = Endpoint(
    "ksdinfo-list-info",
    LISTING_EVENTS_PATH,
    LISTING_EVENTS_TR_ID,
    container="output1",
    rows=LISTING_EVENT_ROWS,
)


def fetch_listing_events(
    client: KisClient, start: dt.date, end: dt.date
) -> tuple[pl.DataFrame, list[dt.date]]:
    """Every share listing dated in [start, end], all issues, as `schemas.LISTING_EVENTS`, and
    the days whose answer was still cut at 100 rows (their other rows are missing)."""
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    pages: list[pl.DataFrame] = []
    cut: list[dt.date] = []
    todo = list(split_windows(start, end, WINDOW_DAYS))
    while todo:
        first, last = todo.pop(0)
        params = {"CTS": "", "F_DT": yyyymmdd(first), "T_DT": yyyymmdd(last), "SHT_CD": ""}
        page = LISTING_EVENTS.fetch(client, params).frame
        if page.height >= ROWS_PER_CALL and first < last:
            middle = first + (last - first) // 2
            todo[:0] = [(first, middle), (middle + dt.timedelta(days=1), last)]
            continue
        if page.height >= ROWS_PER_CALL:
            cut.append(first)
        pages.append(page)
    frame = pl.concat([pl.DataFrame(schema=schemas.LISTING_EVENTS), *pages], how="vertical")
    frame = frame.with_columns(share_class=pl.col("share_class").replace(SHARE_CLASSES))
    frame = frame.filter(pl.col("date").is_between(start, end)).unique(maintain_order=True)
    return conform(frame.sort("date", "symbol", "reason"), schemas.LISTING_EVENTS), cut
