"""KSD dividend schedule, ksdinfo/dividend HHKDB669102C0 (SPEC §10.8).

The endpoint has no paging (`CTS` is sent blank) and documents no row cap, so a long range is
split into consecutive windows of `F_DT`..`T_DT`, one call each (SPEC: "split long date
ranges"). Dates come as `YYYYMMDD` or `YYYY/MM/DD`; amounts are zero-padded KRW per share, rates
space-padded percent. KIS's Korean kind labels become English (`결산` year_end, `중간` interim,
`분기` quarterly; share classes `보통` common, `우선` preferred); unknown labels pass through.

A row is declared as a `RecordSpec`: symbol, record date, kind and amount must be there, the
amounts and rates not negative. A row that breaks one is refused into the client's rejects
alone; the rest of the window is kept.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._base import Endpoint
from kis_pipeline.kis.paging import split_windows
from kis_pipeline.kis.parse import conform, yyyymmdd
from kis_pipeline.kis.records import RecordSpec

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

DIVIDENDS_PATH = "/uapi/domestic-stock/v1/ksdinfo/dividend"
DIVIDENDS_TR_ID = "HHKDB669102C0"
# Window lengths: one symbol has a handful of rows a year; all issues cluster at year end.
SYMBOL_WINDOW_DAYS = 366
ALL_ISSUES_WINDOW_DAYS = 31

# GB1: 0 all, 1 year-end (settlement), 2 interim.
KIND_CODES = {"all": "0", "year_end": "1", "interim": "2"}
DIVIDEND_KINDS = {"결산": "year_end", "중간": "interim", "분기": "quarterly"}
SHARE_CLASSES = {
    "보통": "common",
    "우선": "preferred",
    "1우선": "preferred",
    "2우선": "preferred_2",
}
FLAG_VALUES = {"Y": True, "N": False}

# §10.8 output1.
DIVIDEND_FIELDS = {
    "sht_cd": "symbol",
    "record_date": "record_date",
    "divi_pay_dt": "pay_date",
    "divi_kind": "dividend_kind",
    "per_sto_divi_amt": "dividend_per_share",
    "isin_name": "name",
    "stk_kind": "share_class",
    "face_val": "face_value",
    "divi_rate": "cash_dividend_rate",
    "stk_divi_rate": "stock_dividend_rate",
    "stk_div_pay_dt": "stock_dividend_pay_date",
    "odd_pay_dt": "odd_lot_pay_date",
    "high_divi_gb": "_high_dividend",
}
DIVIDEND_REQUIRED = ("sht_cd", "record_date", "divi_kind", "per_sto_divi_amt")
_PAGE_SCHEMA = pl.Schema({**schemas.DIVIDENDS, "_high_dividend": pl.String})
DIVIDEND_ROWS = RecordSpec(
    table="dividends",
    schema=_PAGE_SCHEMA,
    fields=DIVIDEND_FIELDS,
    carried=DIVIDEND_REQUIRED,
    required=("symbol", "record_date", "dividend_kind", "dividend_per_share"),
    non_negative=(
        "dividend_per_share",
        "face_value",
        "cash_dividend_rate",
        "stock_dividend_rate",
    ),
    date="record_date",
)

DIVIDENDS = Endpoint(
    "ksdinfo-dividend", DIVIDENDS_PATH, DIVIDENDS_TR_ID, container="output1", rows=DIVIDEND_ROWS
)


def fetch_dividends(
    client: KisClient,
    start: dt.date,
    end: dt.date,
    *,
    symbol: str | None = None,
    kind: Literal["all", "year_end", "interim"] = "all",
    window_days: int | None = None,
) -> pl.DataFrame:
    """Dividend schedule by record date, ksdinfo/dividend HHKDB669102C0 (SPEC §10.8).

    All issues, or one `symbol`, with record dates in [start, end]; one call per window of
    `window_days` (default 366 for one symbol, 31 for all issues). Returns `schemas.DIVIDENDS`,
    `dividend_per_share` and `face_value` in KRW.
    """
    if kind not in KIND_CODES:
        raise ValueError(f"kind must be one of {list(KIND_CODES)}, got {kind!r}")
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    days = window_days or (SYMBOL_WINDOW_DAYS if symbol else ALL_ISSUES_WINDOW_DAYS)
    pages: list[pl.DataFrame] = []
    for window_start, window_end in split_windows(start, end, days):
        params = {
            "CTS": "",
            "GB1": KIND_CODES[kind],
            "F_DT": yyyymmdd(window_start),
            "T_DT": yyyymmdd(window_end),
            "SHT_CD": symbol or "",
            "HIGH_GB": "",
        }
        pages.append(DIVIDENDS.fetch(client, params).frame)
    frame = pl.concat([pl.DataFrame(schema=_PAGE_SCHEMA), *pages], how="vertical")
    frame = frame.with_columns(
        dividend_kind=pl.col("dividend_kind").replace(DIVIDEND_KINDS),
        share_class=pl.col("share_class").replace(SHARE_CLASSES),
        is_high_dividend=pl.col("_high_dividend").replace_strict(
            FLAG_VALUES, default=None, return_dtype=pl.Boolean
        ),
    )
    frame = frame.filter(pl.col("record_date").is_between(start, end))
    return conform(frame.unique(maintain_order=True), schemas.DIVIDENDS)
