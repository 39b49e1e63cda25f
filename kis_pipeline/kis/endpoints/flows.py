"""Investor flows: per stock (investor-trade-by-stock-daily §9.3) and per market (§9.1).

Per stock, day D is provisional until ~15:40 KST and settles on D+1 (SPEC §18.12): callers
re-pull the previous day. Both endpoints return a run of days ending at the requested date;
older days are reached by walking that date back to the day before the oldest row (the official
sample's way for §9.3, and the only way documented for §9.1). The portal also mentions
`tr_cont` for §9.3, but window walking reaches every day whether or not the server pages.

Units, into shares and KRW:
- §9.3: quantities in shares, amounts in KRW millions (stated by the portal);
- §9.1: not stated. The portal example (KOSPI, 2024-05-17: foreigners -18,565 and -597,490)
  only fits thousands of shares and KRW millions (about KRW 32,000 a share), so that is what
  is converted.

Rows are declared in `STOCK_FLOW_ROWS` and `MARKET_FLOW_ROWS` (`kis.records`): the date and
the six contract nets must be sent (nets may be negative). A stock's prices, when present,
are positive and ordered, its volume and value not negative; the gross buys and sells per
group may be negative and a market's index levels need only be positive (KIS's own examples
have both). A record that breaks a rule is rejected alone. Only volumes are integer-only in
KIS's unit: a value in KRW millions may carry decimals ("1000.7" is KRW 1,000,700,000).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._base import Endpoint, venue_of
from kis_pipeline.kis.endpoints.prices import OHLC_ORDER, PRICES, ZERO_MEANS_NO_PRICE
from kis_pipeline.kis.parse import KRW_PER_MILLION, SHARES_PER_THOUSAND
from kis_pipeline.kis.records import RecordSpec

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

STOCK_FLOWS_PATH = "/uapi/domestic-stock/v1/quotations/investor-trade-by-stock-daily"
STOCK_FLOWS_TR_ID = "FHPTJ04160001"
MARKET_FLOWS_PATH = "/uapi/domestic-stock/v1/quotations/inquire-investor-daily-by-market"
MARKET_FLOWS_TR_ID = "FHPTJ04040000"

# Net buys per investor group, same field names in §9.1 and §9.3.
NET_FIELDS = {
    "prsn_ntby_qty": "individual_net_volume",
    "frgn_ntby_qty": "foreign_net_volume",
    "orgn_ntby_qty": "institution_net_volume",
    "scrt_ntby_qty": "securities_net_volume",
    "ivtr_ntby_qty": "investment_trust_net_volume",
    "pe_fund_ntby_vol": "private_fund_net_volume",
    "bank_ntby_qty": "bank_net_volume",
    "insu_ntby_qty": "insurance_net_volume",
    "mrbn_ntby_qty": "merchant_bank_net_volume",
    "fund_ntby_qty": "pension_fund_net_volume",
    "etc_ntby_qty": "other_net_volume",
    "etc_corp_ntby_vol": "other_corp_net_volume",
    "etc_orgt_ntby_vol": "other_org_net_volume",
    "prsn_ntby_tr_pbmn": "individual_net_value",
    "frgn_ntby_tr_pbmn": "foreign_net_value",
    "orgn_ntby_tr_pbmn": "institution_net_value",
    "scrt_ntby_tr_pbmn": "securities_net_value",
    "ivtr_ntby_tr_pbmn": "investment_trust_net_value",
    "pe_fund_ntby_tr_pbmn": "private_fund_net_value",
    "bank_ntby_tr_pbmn": "bank_net_value",
    "insu_ntby_tr_pbmn": "insurance_net_value",
    "mrbn_ntby_tr_pbmn": "merchant_bank_net_value",
    "fund_ntby_tr_pbmn": "pension_fund_net_value",
    "etc_ntby_tr_pbmn": "other_net_value",
    "etc_corp_ntby_tr_pbmn": "other_corp_net_value",
    "etc_orgt_ntby_tr_pbmn": "other_org_net_value",
}
# The date and the six nets of the table contract (DESIGN §3.4).
NET_REQUIRED = (
    "date",
    *(
        f"{group}_net_{kind}"
        for kind in ("volume", "value")
        for group in schemas.INVESTOR_GROUPS[:3]
    ),
)

# §9.3 gross sells (seln) and buys (shnu) are `<prefix>_{seln,shnu}_{vol,tr_pbmn}`.
GROSS_PREFIXES = {
    "prsn": "individual",
    "frgn": "foreign",
    "orgn": "institution",
    "scrt": "securities",
    "ivtr": "investment_trust",
    "pe_fund": "private_fund",
    "bank": "bank",
    "insu": "insurance",
    "mrbn": "merchant_bank",
    "fund": "pension_fund",
    "etc": "other",
    "etc_corp": "other_corp",
    "etc_orgt": "other_org",
}
GROSS_FIELDS = {
    f"{prefix}_{kis_side}_{kis_kind}": f"{group}_{side}_{kind}"
    for prefix, group in GROSS_PREFIXES.items()
    for kis_side, side in (("shnu", "buy"), ("seln", "sell"))
    for kis_kind, kind in (("vol", "volume"), ("tr_pbmn", "value"))
}

# §9.3 output2.
STOCK_FLOW_FIELDS = {
    "stck_bsop_date": "date",
    **NET_FIELDS,
    "stck_clpr": "close",
    "stck_oprc": "open",
    "stck_hgpr": "high",
    "stck_lwpr": "low",
    "prdy_vrss": "change",
    "prdy_ctrt": "change_rate",
    "acml_vol": "volume",
    "acml_tr_pbmn": "value",
    **GROSS_FIELDS,
}
STOCK_FLOW_SCALE = {
    column: KRW_PER_MILLION
    for column in STOCK_FLOW_FIELDS.values()
    if column.endswith("_value") and column != "value"
}

# §9.1 output.
MARKET_FLOW_FIELDS = {
    "stck_bsop_date": "date",
    **NET_FIELDS,
    "bstp_nmix_oprc": "index_open",
    "bstp_nmix_hgpr": "index_high",
    "bstp_nmix_lwpr": "index_low",
    "bstp_nmix_prpr": "index_close",
    "bstp_nmix_prdy_vrss": "index_change",
    "bstp_nmix_prdy_ctrt": "index_change_rate",
}
MARKET_FLOW_SCALE = {
    column: KRW_PER_MILLION if column.endswith("_value") else SHARES_PER_THOUSAND
    for column in NET_FIELDS.values()
}
STOCK_FLOW_ROWS = RecordSpec(
    table="investor_flows",
    schema=schemas.INVESTOR_FLOWS,
    fields=STOCK_FLOW_FIELDS,
    scale=STOCK_FLOW_SCALE,
    no_trade=ZERO_MEANS_NO_PRICE,
    required=NET_REQUIRED,
    positive=PRICES,
    # Not the gross buys and sells: KIS's own example has negative ones (corrections).
    non_negative=("volume", "value"),
    ordered=OHLC_ORDER,
)
_LEVELS = tuple(f"index_{p}" for p in PRICES)
MARKET_FLOW_ROWS = RecordSpec(
    table="market_investor_flows",
    schema=schemas.MARKET_INVESTOR_FLOWS,
    fields=MARKET_FLOW_FIELDS,
    scale=MARKET_FLOW_SCALE,
    required=NET_REQUIRED,
    # Not ordered: KIS's own example has a close above the high of the same row.
    positive=_LEVELS,
    symbol="market",
)
# market -> (FID_INPUT_ISCD sector code, FID_INPUT_ISCD_1 market code)
MARKETS = {"KOSPI": ("0001", "KSP"), "KOSDAQ": ("1001", "KSQ")}

STOCK_FLOWS = Endpoint(
    "investor-trade-by-stock-daily",
    STOCK_FLOWS_PATH,
    STOCK_FLOWS_TR_ID,
    container="output2",
    rows=STOCK_FLOW_ROWS,
    window_end=("FID_INPUT_DATE_1",),
)
MARKET_FLOWS = Endpoint(
    "inquire-investor-daily-by-market",
    MARKET_FLOWS_PATH,
    MARKET_FLOWS_TR_ID,
    rows=MARKET_FLOW_ROWS,
    window_end=("FID_INPUT_DATE_1", "FID_INPUT_DATE_2"),
)


def fetch_investor_flows(
    client: KisClient, symbol: str, start: dt.date, end: dt.date, *, market: str = "J"
) -> pl.DataFrame:
    """Daily investor flows of one stock, investor-trade-by-stock-daily FHPTJ04160001 (§9.3).

    Returns `schemas.INVESTOR_FLOWS`, one row per trading day in [start, end], ascending;
    volumes in shares, values in KRW.
    """
    constants = {"symbol": symbol, "venue": venue_of(market)}
    params = {
        "FID_COND_MRKT_DIV_CODE": market,
        "FID_INPUT_ISCD": symbol,
        "FID_ORG_ADJ_PRC": "",
        "FID_ETC_CLS_CODE": "1",
    }

    return STOCK_FLOWS.walk(client, params, start, end, constants=constants)


def fetch_market_investor_flows(
    client: KisClient, market: str, start: dt.date, end: dt.date
) -> pl.DataFrame:
    """Daily investor flows of a market, inquire-investor-daily-by-market FHPTJ04040000 (§9.1).

    `market` is `KOSPI` or `KOSDAQ`. Returns `schemas.MARKET_INVESTOR_FLOWS`, one row per
    trading day in [start, end], ascending; volumes in shares, values in KRW.
    """
    if market not in MARKETS:
        raise ValueError(f"market must be one of {list(MARKETS)}, got {market!r}")
    index_code, market_code = MARKETS[market]
    constants = {"market": market, "index_code": index_code}
    params = {
        "FID_COND_MRKT_DIV_CODE": "U",
        "FID_INPUT_ISCD": index_code,
        "FID_INPUT_ISCD_1": market_code,
        "FID_INPUT_ISCD_2": index_code,
    }

    return MARKET_FLOWS.walk(client, params, start, end, constants=constants)
