"""Domestic index (sector) daily chart, inquire-daily-indexchartprice (SPEC §12.3), and the
sector sub-indices of a category, inquire-index-category-price (SPEC §12.4).

At most 50 bars per call, newest first: a range is fetched by walking `FID_INPUT_DATE_2` back
(SPEC §6.2). Index levels are floats (2 decimals).

Units: the portal labels `acml_vol` "shares" and `acml_tr_pbmn` "KRW" with the generic field
dictionary, but index figures are thousands of shares and KRW millions: the portal example
has KOSPI at 892,653 and 9,289,660 on 2022-05-09, a day of about 0.9 billion shares and
KRW 9.3 trillion (SPEC §7.11 reads the index rows of the multi-quote the same way). They leave
this module in shares and KRW.

A bar is declared in `INDEX_BARS` (`kis.records`), with the rules of a stock bar: every field
sent, levels positive and ordered (low <= open, close <= high), volume and value not negative;
a bar that breaks one is rejected alone. A close more than 30 % from the previous bar's (no
index can move that far when each stock is held to ±30 %) is kept and flagged `price_jump`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._base import Endpoint
from kis_pipeline.kis.endpoints.prices import OHLC_ORDER, PRICES
from kis_pipeline.kis.parse import KRW_PER_MILLION, SHARES_PER_THOUSAND, yyyymmdd
from kis_pipeline.kis.records import JumpRule, RecordSpec, flag_jumps

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

INDEX_CHART_PATH = "/uapi/domestic-stock/v1/quotations/inquire-daily-indexchartprice"
INDEX_CHART_TR_ID = "FHKUP03500100"
INDEX_CHART_PAGE_ROWS = 50

# §12.3 output2.
INDEX_BAR_FIELDS = {
    "stck_bsop_date": "date",
    "bstp_nmix_oprc": "open",
    "bstp_nmix_hgpr": "high",
    "bstp_nmix_lwpr": "low",
    "bstp_nmix_prpr": "close",
    "acml_vol": "volume",
    "acml_tr_pbmn": "value",
    "mod_yn": "is_modified",
}
INDEX_JUMPS = JumpRule(column="close", by="index_code")
INDEX_BARS = RecordSpec(
    table="index_daily",
    schema=schemas.INDEX_DAILY,
    fields=INDEX_BAR_FIELDS,
    scale={"volume": SHARES_PER_THOUSAND, "value": KRW_PER_MILLION},
    required=("date", *PRICES, "volume", "value"),
    positive=PRICES,
    non_negative=("volume", "value"),
    ordered=OHLC_ORDER,
    jump=INDEX_JUMPS,
    symbol="index_code",
)

INDEX_CHART = Endpoint(
    "inquire-daily-indexchartprice",
    INDEX_CHART_PATH,
    INDEX_CHART_TR_ID,
    container="output2",
    rows=INDEX_BARS,
    window_end=("FID_INPUT_DATE_2",),
    page_rows=INDEX_CHART_PAGE_ROWS,
)


# §12.4 output2: one record per sub-index of the category; only its code is read, to walk its
# chart. A code that is not four digits is refused (and counted) like any malformed record.
SUB_INDEX_ROWS = RecordSpec(
    table="index_daily",
    schema=pl.Schema({"index_code": pl.String, "name": pl.String}),
    fields={"bstp_cls_code": "index_code", "hts_kor_isnm": "name"},
    required=("index_code",),
    patterns={"index_code": r"^\d{4}$"},
    symbol="index_code",
    date=None,
)
INDEX_CATEGORY = Endpoint(
    "inquire-index-category-price",
    "/uapi/domestic-stock/v1/quotations/inquire-index-category-price",
    "FHPUP02140000",
    container="output2",
    rows=SUB_INDEX_ROWS,
    section="§12.4",
)
# The categories whose sub-indices are kept: index code -> FID_MRKT_CLS_CODE.
CATEGORIES = {"0001": "K", "1001": "Q"}


def fetch_sub_indices(client: KisClient, parent: str) -> list[str]:
    """The codes of every sector sub-index of `parent` (`0001` KOSPI, `1001` KOSDAQ), one
    call (FHPUP02140000, SPEC §12.4, all sectors)."""
    params = {
        "FID_COND_MRKT_DIV_CODE": "U",
        "FID_INPUT_ISCD": parent,
        "FID_COND_SCR_DIV_CODE": "20214",
        "FID_MRKT_CLS_CODE": CATEGORIES[parent],
        "FID_BLNG_CLS_CODE": "0",
    }
    codes = INDEX_CATEGORY.fetch(client, params).frame["index_code"].to_list()
    return [code for code in dict.fromkeys(codes) if code != parent]


def fetch_index_daily(
    client: KisClient, index_code: str, start: dt.date, end: dt.date
) -> pl.DataFrame:
    """Daily index bars, inquire-daily-indexchartprice FHKUP03500100 (SPEC §12.3).

    `index_code` is the 4-digit code (`0001` KOSPI, `1001` KOSDAQ, `2001` KOSPI200). Returns
    `schemas.INDEX_DAILY`, one row per trading day in [start, end], ascending.
    """
    params = {
        "FID_COND_MRKT_DIV_CODE": "U",
        "FID_INPUT_ISCD": index_code,
        "FID_INPUT_DATE_1": yyyymmdd(start),
        "FID_PERIOD_DIV_CODE": "D",
    }

    bars = INDEX_CHART.walk(client, params, start, end, constants={"index_code": index_code})
    return flag_jumps(bars, INDEX_JUMPS)
