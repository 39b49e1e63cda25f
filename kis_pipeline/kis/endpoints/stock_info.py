"""Stock basic info, search-stock-info CTPF1002R (SPEC §10.9): one object per product.

KIS answers for delisted codes too, with their delisting dates, so a weekly snapshot of it
keeps a point-in-time universe. The listing and delisting dates come in one field pair per
market (KOSPI `scts_mket_*`, KOSDAQ `kosdaq_mket_*`) and a general `lstg_abol_dt`: `listed_on`
is the market's listing date, `delisted_on` the first delisting date given. Codes become words:
`mket_id_cd` STK/KSQ/KNX -> KOSPI/KOSDAQ/KONEX, `scty_grp_id_cd` -> `product_kind` (ST and KN
stock, EF etf, EN etn, RT reit, ...), `stck_kind_cd` -> `stock_kind` (101 common, 201
preferred, 202.. preferred_2.., 301 deferred, 401 mixed; 000, not a share, null). Unknown
codes pass through.

A record is declared as a `RecordSpec`: the code and name must be there, share counts, par
value and capital not negative, no delisting before its listing. A record that breaks one is
refused into the client's rejects and the symbol gets no row.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._trend import quotation
from kis_pipeline.kis.parse import conform
from kis_pipeline.kis.records import RecordSpec, field_map

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

MARKETS = {"STK": "KOSPI", "KSQ": "KOSDAQ", "KNX": "KONEX"}
PRODUCT_KINDS = {
    "ST": "stock",
    "KN": "stock",
    "FS": "foreign_stock",
    "DR": "depositary_receipt",
    "EF": "etf",
    "FE": "foreign_etf",
    "EN": "etn",
    "EW": "elw",
    "RT": "reit",
    "IF": "infrastructure_fund",
    "MF": "investment_company",
    "SC": "ship_investment_company",
    "BC": "beneficiary_certificate",
    "SR": "subscription_right",
    "SW": "subscription_warrant",
}
STOCK_KINDS = {
    "101": "common",
    "201": "preferred",
    **{f"2{n:02d}": f"preferred_{n}" for n in range(2, 21)},
    "301": "deferred",
    "401": "mixed",
}
# Per market: its listing date and delisting date fields, read into private columns.
_DATES = {
    "scts_mket_lstg_dt": "_kospi_listed",
    "scts_mket_lstg_abol_dt": "_kospi_delisted",
    "kosdaq_mket_lstg_dt": "_kosdaq_listed",
    "kosdaq_mket_lstg_abol_dt": "_kosdaq_delisted",
    "lstg_abol_dt": "_delisted",
}
STOCK_INFO_FIELDS = {
    **field_map(
        """
        pdno                   symbol
        prdt_abrv_name         name
        mket_id_cd             market
        scty_grp_id_cd         security_group
        stck_kind_cd           stock_kind
        lstg_stqt              listed_shares
        papr                   par_value
        cpta                   capital
        lstg_cptl_amt          listed_capital
        issu_pric              issue_price
        idx_bztp_lcls_cd       sector_code
        idx_bztp_lcls_cd_name  sector
        idx_bztp_mcls_cd_name  sector_mid
        idx_bztp_scls_cd_name  sector_small
        std_idst_clsf_cd       industry_code
        std_idst_clsf_cd_name  industry
        kospi200_item_yn       is_kospi200
        tr_stop_yn             is_halted
        admn_item_yn           is_administrative
        cptt_trad_tr_psbl_yn   is_nxt_tradable
        std_pdno               standard_code
        prdt_eng_name          english_name
        thdt_clpr              close
        bfdy_clpr              prev_close
        """
    ),
    **_DATES,
}
_PAGE_SCHEMA = pl.Schema({**schemas.STOCK_INFO, **dict.fromkeys(_DATES.values(), pl.Date)})
STOCK_INFO_ROWS = RecordSpec(
    table="stock_info",
    schema=_PAGE_SCHEMA,
    fields=STOCK_INFO_FIELDS,
    carried=("pdno", "mket_id_cd", "scty_grp_id_cd", "lstg_stqt", "lstg_abol_dt"),
    null_values={"stock_kind": ("000",)},
    required=("symbol", "name", "market", "security_group"),
    non_negative=("listed_shares", "par_value", "capital", "listed_capital", "close"),
    ordered=(("_kospi_listed", "_kospi_delisted"), ("_kosdaq_listed", "_kosdaq_delisted")),
    patterns={"symbol": r"^[0-9A-Z]{6,7}$"},
    date="as_of",
)
STOCK_INFO = quotation("§10.9", "search-stock-info", "CTPF1002R", STOCK_INFO_ROWS)
PRODUCT_TYPE_STOCK = "300"


def fetch_stock_info(client: KisClient, symbol: str, *, as_of: dt.date) -> pl.DataFrame:
    """What KIS knows of one stock (or ETF, ETN, REIT) today, search-stock-info CTPF1002R
    (SPEC §10.9): one row of `schemas.STOCK_INFO` stamped `as_of`, none if it was refused."""
    params = {"PRDT_TYPE_CD": PRODUCT_TYPE_STOCK, "PDNO": symbol}
    frame = STOCK_INFO.fetch(client, params, constants={"as_of": as_of}).frame
    frame = frame.with_columns(
        market=pl.col("market").replace(MARKETS),
        product_kind=pl.col("security_group").replace(PRODUCT_KINDS),
        stock_kind=pl.col("stock_kind").replace(STOCK_KINDS),
        listed_on=pl.coalesce("_kospi_listed", "_kosdaq_listed"),
        delisted_on=pl.coalesce("_delisted", "_kospi_delisted", "_kosdaq_delisted"),
    )
    return conform(frame, schemas.STOCK_INFO)
