"""Domestic stock prices: the current-price snapshot (§7.1) and the daily chart (§7.3).

The daily chart is the pipeline's OHLCV source of record. It returns at most 100 bars per call,
newest first, so a range is fetched by walking the end date back (SPEC §6.2). Original and
adjusted prices are separate calls (`FID_ORG_ADJ_PRC` 1 / 0 on this endpoint, the opposite
wording of `inquire-daily-price`: SPEC §18.9); the adjusted frame carries
`adj_factor = adjusted close / original close`, which needs the original bars of the same days.
Units: prices KRW, volume shares, `value` KRW (KIS sends KRW here); `market_cap` and `capital`
of the snapshot come in KRW 100 million and leave in KRW.

A daily bar is declared in `DAILY_BARS` (`kis.records`): date, open, high, low, close, volume
and value must be sent; open/high/low all 0 (a day without trades) are null, since 0 is never
a price; every price present is positive, volume and value are not negative, and low <= open,
close <= high. A bar that breaks a rule is rejected alone (into the client's reject log) and
the rest of the window is kept. A close more than 30 % from the previous bar's without an
event flag (ex-rights, split, revaluation) is kept and flagged `price_jump`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._base import Endpoint, venue_of
from kis_pipeline.kis.parse import (
    KRW_PER_HUNDRED_MILLION,
    conform,
    yyyymmdd,
)
from kis_pipeline.kis.records import JumpRule, RecordSpec, flag_jumps

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

CURRENT_PRICE_PATH = "/uapi/domestic-stock/v1/quotations/inquire-price"
CURRENT_PRICE_TR_ID = "FHKST01010100"
DAILY_CHART_PATH = "/uapi/domestic-stock/v1/quotations/inquire-daily-itemchartprice"
DAILY_CHART_TR_ID = "FHKST03010100"
DAILY_CHART_PAGE_ROWS = 100
# KIS writes 0 for the open/high/low of a day without trades (mod_yn = Y); 0 is not a price.
ZERO_MEANS_NO_PRICE = ("open", "high", "low")
PRICES = ("open", "high", "low", "close")
# low <= open, close <= high (pairs (a, b) with a <= b).
OHLC_ORDER = (
    ("low", "high"),
    ("low", "open"),
    ("open", "high"),
    ("low", "close"),
    ("close", "high"),
)
# A quote's last price (`price`) sits in its day's bar as a close does.
QUOTE_ORDER = tuple(
    ("price" if a == "close" else a, "price" if b == "close" else b) for a, b in OHLC_ORDER
)
# Columns whose value marks a corporate action that resets the price basis (SPEC §7.3).
EVENT_COLUMNS = ("ex_rights_code", "split_ratio", "revaluation_reason")
# FID_ORG_ADJ_PRC of this endpoint: 0 = adjusted, 1 = original (SPEC §7.3).
ADJUSTED_FLAG = {True: "0", False: "1"}

# §7.3 output2 (one bar per trading day).
DAILY_BAR_FIELDS = {
    "stck_bsop_date": "date",
    "stck_oprc": "open",
    "stck_hgpr": "high",
    "stck_lwpr": "low",
    "stck_clpr": "close",
    "acml_vol": "volume",
    "acml_tr_pbmn": "value",
    "prdy_vrss": "change",
    "flng_cls_code": "ex_rights_code",
    "prtt_rate": "split_ratio",
    "revl_issu_reas": "revaluation_reason",
    "mod_yn": "is_modified",
}
PRICE_JUMPS = JumpRule(column="close", by="symbol", events=EVENT_COLUMNS, change="change")
DAILY_BARS = RecordSpec(
    table="daily_prices",
    schema=schemas.DAILY_PRICES,
    fields=DAILY_BAR_FIELDS,
    no_trade=ZERO_MEANS_NO_PRICE,
    required=("date", *PRICES, "volume", "value"),
    positive=PRICES,
    non_negative=("volume", "value"),
    ordered=OHLC_ORDER,
    jump=PRICE_JUMPS,
)
# The adjusted chart has the raw chart's layout (SPEC §7.3): only the table differs.
ADJUSTED_BARS = DAILY_BARS.for_table("daily_prices_adjusted")

# §7.1 output (one object).
CURRENT_PRICE_FIELDS = {
    "stck_shrn_iscd": "symbol",
    "stck_prpr": "price",
    "prdy_vrss": "change",
    "prdy_ctrt": "change_rate",
    "stck_oprc": "open",
    "stck_hgpr": "high",
    "stck_lwpr": "low",
    "acml_vol": "volume",
    "acml_tr_pbmn": "value",
    "prdy_vrss_vol_rate": "prev_volume_rate",
    "stck_mxpr": "upper_limit",
    "stck_llam": "lower_limit",
    "stck_sdpr": "base_price",
    "wghn_avrg_stck_prc": "vwap",
    "lstn_stcn": "listed_shares",
    "hts_avls": "market_cap",
    "cpfn": "capital",
    "stck_fcam": "par_value",
    "aspr_unit": "tick_size",
    "per": "per",
    "pbr": "pbr",
    "eps": "eps",
    "bps": "bps",
    "stac_month": "settlement_month",
    "vol_tnrt": "volume_turnover",
    "frgn_hldn_qty": "foreign_holding_volume",
    "hts_frgn_ehrt": "foreign_exhaustion_rate",
    "frgn_ntby_qty": "foreign_net_volume",
    "pgtr_ntby_qty": "program_net_volume",
    "w52_hgpr": "w52_high",
    "w52_hgpr_date": "w52_high_date",
    "w52_lwpr": "w52_low",
    "w52_lwpr_date": "w52_low_date",
    "d250_hgpr": "d250_high",
    "d250_hgpr_date": "d250_high_date",
    "d250_lwpr": "d250_low",
    "d250_lwpr_date": "d250_low_date",
    "stck_dryy_hgpr": "ytd_high",
    "dryy_hgpr_date": "ytd_high_date",
    "stck_dryy_lwpr": "ytd_low",
    "dryy_lwpr_date": "ytd_low_date",
    "rprs_mrkt_kor_name": "market_name",
    "bstp_kor_isnm": "sector_name",
    "iscd_stat_cls_code": "status_code",
    "mrkt_warn_cls_code": "market_warning_code",
    "temp_stop_yn": "is_halted",
    "mang_issu_cls_code": "is_administrative",
    "short_over_yn": "is_short_term_overheated",
    "sltr_yn": "is_liquidation_trading",
    "crdt_able_yn": "is_credit_available",
    "ssts_yn": "is_short_sale_available",
    "vi_cls_code": "vi_code",
}
CURRENT_PRICE_REQUIRED = (
    "stck_prpr",
    "prdy_vrss",
    "prdy_ctrt",
    "stck_oprc",
    "stck_hgpr",
    "stck_lwpr",
    "acml_vol",
    "acml_tr_pbmn",
)
CURRENT_PRICE_SCALE = {"market_cap": KRW_PER_HUNDRED_MILLION, "capital": KRW_PER_HUNDRED_MILLION}

CURRENT_PRICE_ROWS = RecordSpec(
    table="current_price",
    schema=schemas.CURRENT_PRICE,
    fields=CURRENT_PRICE_FIELDS,
    carried=CURRENT_PRICE_REQUIRED,
    scale=CURRENT_PRICE_SCALE,
    no_trade=("open", "high", "low"),
    required=("price", "volume"),
    positive=("price",),
    non_negative=("volume", "value"),
    ordered=QUOTE_ORDER,
    date=None,
)

CURRENT_PRICE = Endpoint(
    "inquire-price", CURRENT_PRICE_PATH, CURRENT_PRICE_TR_ID, rows=CURRENT_PRICE_ROWS
)
# Its records are DAILY_BARS or ADJUSTED_BARS, as the request asks.
DAILY_CHART = Endpoint(
    "inquire-daily-itemchartprice",
    DAILY_CHART_PATH,
    DAILY_CHART_TR_ID,
    container="output2",
    window_end=("FID_INPUT_DATE_2",),
    page_rows=DAILY_CHART_PAGE_ROWS,
)


def fetch_current_price(client: KisClient, symbol: str, *, market: str = "J") -> pl.DataFrame:
    """Current price snapshot, inquire-price FHKST01010100 (SPEC §7.1).

    One row (none if KIS answers with an empty object). There is no date in the answer: the
    caller stamps the session from the calendar.
    """
    params = {"FID_COND_MRKT_DIV_CODE": market, "FID_INPUT_ISCD": symbol}
    frame = CURRENT_PRICE.fetch(client, params, constants={"venue": venue_of(market)}).frame
    # The answer echoes the code in stck_shrn_iscd; fall back to the request if it does not.
    return frame.with_columns(pl.col("symbol").fill_null(symbol))


def fetch_daily_chart(
    client: KisClient,
    symbol: str,
    start: dt.date,
    end: dt.date,
    *,
    adjusted: bool,
    market: str = "J",
    original: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Daily OHLCV bars, inquire-daily-itemchartprice FHKST03010100 (SPEC §7.3).

    Returns `schemas.DAILY_PRICES` (original prices) or, with `adjusted=True`,
    `schemas.DAILY_PRICES_ADJUSTED`, one row per trading day in [start, end], ascending.
    `adj_factor` divides each adjusted close by the original close of that day: pass the
    original bars already fetched as `original` (a `DAILY_PRICES` frame) to save the calls,
    otherwise they are fetched here too.
    """
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    bars = _walk_daily_chart(client, symbol, start, end, adjusted=adjusted, market=market)
    if not adjusted:
        return conform(bars, schemas.DAILY_PRICES)
    if original is None:
        original = _walk_daily_chart(client, symbol, start, end, adjusted=False, market=market)
    return with_adj_factor(bars, original)


def with_adj_factor(adjusted: pl.DataFrame, original: pl.DataFrame) -> pl.DataFrame:
    """Adjusted bars with `adj_factor` = adjusted close / original close of the same day."""
    raw_close = original.select(
        pl.col("date"), pl.col("symbol"), pl.col("close").alias("_raw_close")
    )
    joined = adjusted.join(raw_close, on=["date", "symbol"], how="left")
    factor = (
        pl.when(pl.col("_raw_close") > 0)
        .then(pl.col("close") / pl.col("_raw_close"))
        .otherwise(None)
    )
    return conform(joined.with_columns(adj_factor=factor), schemas.DAILY_PRICES_ADJUSTED)


def _walk_daily_chart(
    client: KisClient,
    symbol: str,
    start: dt.date,
    end: dt.date,
    *,
    adjusted: bool,
    market: str,
) -> pl.DataFrame:
    constants = {"symbol": symbol, "venue": venue_of(market)}
    params = {
        "FID_COND_MRKT_DIV_CODE": market,
        "FID_INPUT_ISCD": symbol,
        "FID_INPUT_DATE_1": yyyymmdd(start),
        "FID_PERIOD_DIV_CODE": "D",
        "FID_ORG_ADJ_PRC": ADJUSTED_FLAG[adjusted],
    }

    spec = ADJUSTED_BARS if adjusted else DAILY_BARS
    bars = DAILY_CHART.walk(client, params, start, end, constants=constants, rows=spec)
    return flag_jumps(bars, PRICE_JUMPS)
