"""KSD capital-reduction schedule (자본감소일정), ksdinfo/cap-dcrs HHKDB669106C0 (a sibling of
SPEC §10.8; fields from the official samples, `docs/ksd_schedules.md`).

One row per capital reduction of a share class: `reduce_cap_rate` (감자배정율) the shares kept
per old share, 0.1 for 10 old shares to 1 (the samples give no unit: see the docs), the record
date, the trading halt (`td_stop_dt`, kept as sent) and the relisting date (`list_dt`), the
first session at the new share basis, when the base price is the last close over the ratio.
Real only (not in the paper environment).

No paging (`CTS` blank) and no documented row cap: a range is fetched in 31-day windows of
record dates, all reductions. A row without a code, a record or relisting date, or with a
ratio that is not a positive number is refused into the client's rejects alone; it never
becomes an action.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._base import Endpoint
from kis_pipeline.kis.endpoints.ksd_schedule import fetch_by_record_date
from kis_pipeline.kis.records import RecordSpec

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

CAPITAL_REDUCTIONS_PATH = "/uapi/domestic-stock/v1/ksdinfo/cap-dcrs"
CAPITAL_REDUCTIONS_TR_ID = "HHKDB669106C0"

CAPITAL_REDUCTION_ROWS = RecordSpec(
    table="capital_reductions",
    schema=schemas.CAPITAL_REDUCTIONS,
    fields={
        "record_date": "record_date",
        "sht_cd": "symbol",
        "stk_kind": "share_class",
        "reduce_cap_type": "reduction_type",
        "reduce_cap_rate": "kept_ratio",  # shares kept per old share
        "comp_way": "method",
        "td_stop_dt": "halt_period",
        "list_dt": "list_date",
    },
    carried=("record_date", "sht_cd", "reduce_cap_rate", "list_dt"),
    required=("record_date", "symbol", "list_date", "kept_ratio"),
    positive=("kept_ratio",),
    date="record_date",
)

CAPITAL_REDUCTIONS = Endpoint(
    "ksdinfo-cap-dcrs",
    CAPITAL_REDUCTIONS_PATH,
    CAPITAL_REDUCTIONS_TR_ID,
    container="output1",
    rows=CAPITAL_REDUCTION_ROWS,
)


def fetch_capital_reductions(client: KisClient, start: dt.date, end: dt.date) -> pl.DataFrame:
    """Every capital reduction with a record date in [start, end], all codes, as
    `schemas.CAPITAL_REDUCTIONS` (share classes in English)."""
    return fetch_by_record_date(client, CAPITAL_REDUCTIONS, schemas.CAPITAL_REDUCTIONS, start, end)
