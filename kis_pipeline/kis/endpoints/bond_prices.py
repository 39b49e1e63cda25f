"""Exchange-listed bond period prices, inquire-daily-itemchartprice FHKBJ773701C0, and a
bond's terms, issue-info CTPF1101R.

Not in SPEC; read from the official samples (`examples_llm/domestic_bond/
inquire_daily_itemchartprice`, 국내주식-159), see docs/bond_prices.md. KIS takes the market
division `B` and a bond's 12-character ISIN, no date: it answers the latest sessions, newest
first, and more pages behind `tr_cont` "M". Prices are KRW per 10,000 KRW face, so a record
reads near 10,000 and never zero: a zero or a broken high/low range is refused, not stored.
The sample declares no mock (VTS) TR_ID.

issue-info (`examples_llm/domestic_bond/issue_info`, 국내주식-156) takes the bond code (`PDNO`)
and the product type `302` and answers one object: names, classification, face value, the
amount issued and listed, the coupon (percent) and months between coupons, the issuer and the
issue, listing, maturity and redemption dates. A record without its code, name, coupon or
maturity, or with a negative amount, is refused into the client's rejects.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.common.bond_schemas import BOND_INFO, BOND_PRICES
from kis_pipeline.kis.endpoints._base import Endpoint
from kis_pipeline.kis.endpoints.prices import OHLC_ORDER, PRICES
from kis_pipeline.kis.records import RecordSpec, field_map

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

BOND_QUOTATIONS = "/uapi/domestic-bond/v1/quotations"
BOND_MARKET = "B"
# A KRX bond code: KR, then ten letters or digits (KR103502GA34).
BOND_CODE = r"KR[0-9A-Z]{10}"

BOND_PRICE_FIELDS = field_map(
    """
    stck_bsop_date  date
    bond_oprc       open
    bond_hgpr       high
    bond_lwpr       low
    bond_prpr       close
    acml_vol        volume
    """
)
BOND_PRICE_ROWS = RecordSpec(
    table="bond_prices",
    schema=BOND_PRICES,
    fields=BOND_PRICE_FIELDS,
    required=("date", *PRICES, "volume"),
    positive=PRICES,
    non_negative=("volume",),
    ordered=OHLC_ORDER,
)
BOND_PRICES_DAILY = Endpoint(
    "inquire-daily-itemchartprice",
    f"{BOND_QUOTATIONS}/inquire-daily-itemchartprice",
    "FHKBJ773701C0",
    "output",
    BOND_PRICE_ROWS,
)


def bond_price_params(code: str) -> dict[str, str]:
    """The query string of one bond's call."""
    return {"FID_COND_MRKT_DIV_CODE": BOND_MARKET, "FID_INPUT_ISCD": code}


def fetch_bond_page(client: KisClient, code: str) -> pl.DataFrame:
    """One bond's newest sessions as KIS answers them in one call (no date is asked for), one
    row per day of `BOND_PRICES`, oldest first; refused records go to the client's rejects."""
    split = BOND_PRICES_DAILY.fetch(client, bond_price_params(code), constants={"symbol": code})
    return split.frame.sort("date")


BOND_INFO_ROWS = RecordSpec(
    table="bond_info",
    schema=BOND_INFO,
    fields=field_map(
        """
        pdno                symbol
        prdt_name           name
        prdt_eng_name       english_name
        bond_clsf_kor_name  classification
        papr                face_value
        issu_amt            issue_amount
        lstg_rmnd           listed_balance
        srfc_inrt           coupon_rate
        int_dfrm_mcnt       coupon_months
        issu_istt_name      issuer
        issu_dt             issue_date
        lstg_dt             listing_date
        expd_dt             maturity_date
        rdpt_dt             redemption_date
        """
    ),
    required=("symbol", "name", "coupon_rate", "maturity_date"),
    non_negative=("face_value", "issue_amount", "listed_balance", "coupon_rate", "coupon_months"),
    ordered=(("issue_date", "maturity_date"),),
    patterns={"symbol": f"^{BOND_CODE}$"},
    date="as_of",
)
BOND_PRODUCT_TYPE = "302"
BOND_INFO_ENDPOINT = Endpoint(
    "issue-info", f"{BOND_QUOTATIONS}/issue-info", "CTPF1101R", "output", BOND_INFO_ROWS
)


def fetch_bond_info(client: KisClient, code: str, *, as_of: dt.date) -> pl.DataFrame:
    """One bond's terms as KIS describes them today, a row of `BOND_INFO` stamped `as_of`
    (none if the record was refused)."""
    params = {"PDNO": code, "PRDT_TYPE_CD": BOND_PRODUCT_TYPE}
    return BOND_INFO_ENDPOINT.fetch(client, params, constants={"as_of": as_of}).frame
