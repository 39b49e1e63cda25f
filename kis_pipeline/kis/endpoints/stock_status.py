"""A stock's trading status, inquire-price-2 FHPST01010000 (SPEC §7.2): one object per stock.

The variant of the current price (§7.1) that carries the status flags a quant filters on: VI
applied, trading halt, the market warning stage (`mrkt_warn_cls_code` 00 none, 01 caution, 02
warning, 03 risk, kept as words), short-sale and short-term overheating, administrative issue,
investment caution, low liquidity, liquidation trading, and whether credit is allowed. KIS
shows them as they stand, so a nightly run after the close keeps each session's status; the
answer names no symbol or date, so both come from the request. Not in paper.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._trend import quotation
from kis_pipeline.kis.records import RecordSpec, field_map

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

WARNINGS = {"00": "none", "01": "caution", "02": "warning", "03": "risk"}
STOCK_STATUS_ROWS = RecordSpec(
    table="stock_status",
    schema=schemas.ALL["stock_status"],
    fields=field_map(
        """
        rprs_mrkt_kor_name   market_name
        bstp_kor_isnm        sector
        stck_prpr            price
        prdy_vrss            change
        prdy_ctrt            change_rate
        acml_vol             volume
        acml_tr_pbmn         value
        stck_oprc            open
        stck_hgpr            high
        stck_lwpr            low
        stck_sdpr            base_price
        stck_mxpr            upper_limit
        stck_llam            lower_limit
        vi_cls_code          vi_applied
        trht_yn              halted
        ssts_hot_yn          short_sale_overheat
        short_over_yn        short_term_overheat
        mang_issu_yn         administrative
        invt_caful_yn        investment_caution
        stange_runup_yn      abnormal_surge
        low_current_yn       low_liquidity
        sltr_yn              liquidation_trading
        insn_pbnt_yn         unfaithful_disclosure
        crdt_able_yn         credit_allowed
        crdt_rate            credit_rate
        marg_rate            margin_rate
        mrkt_warn_cls_code   market_warning
        mrkt_warn_cls_name   market_warning_name
        """
    ),
    carried=("vi_cls_code", "trht_yn", "mrkt_warn_cls_code"),
    required=("price", "base_price", "upper_limit", "lower_limit"),
    positive=("price", "base_price", "upper_limit", "lower_limit"),
    non_negative=("volume", "value"),
    ordered=(("lower_limit", "base_price"), ("base_price", "upper_limit")),
    patterns={"market_warning": r"^0[0-3]$"},
    date="as_of",
)
STOCK_STATUS = quotation("§7.2", "inquire-price-2", "FHPST01010000", STOCK_STATUS_ROWS)


def fetch_stock_status(client: KisClient, symbol: str, *, as_of: dt.date) -> pl.DataFrame:
    """One stock's status after the last session, one row of `schemas.ALL["stock_status"]`
    stamped `as_of` (none if the record was refused)."""
    params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbol}
    constants = {"as_of": as_of, "symbol": symbol}
    frame = STOCK_STATUS.fetch(client, params, constants=constants).frame
    return frame.with_columns(market_warning=pl.col("market_warning").replace(WARNINGS))
