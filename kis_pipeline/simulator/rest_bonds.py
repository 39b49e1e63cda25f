"""Exchange-listed bond period prices (`inquire-daily-itemchartprice`, FHKBJ773701C0; fields
from the official samples, docs/bond_prices.md): the latest `BOND_ROWS` sessions of one bond,
newest first, from the treasury model in `market_bonds`. `FID_COND_MRKT_DIV_CODE` must be `B`;
an unknown bond code is KIS's symbol error. Only the first page is served (`tr_cont` blank).

A bond's terms (`issue-info`, CTPF1101R): `PDNO` the code and `PRDT_TYPE_CD` `302` (bonds; any
other is refused), one `output` object; dates `YYYYMMDD`, amounts in KRW, rates in percent with
four decimals, as the product-info endpoints send them.
"""

from __future__ import annotations

from kis_pipeline.simulator.market_bonds import (
    COUPONS_PER_YEAR,
    FACE,
    TREASURIES,
    BondBar,
    bond_bars,
)
from kis_pipeline.simulator.rest_common import (
    Endpoint,
    Params,
    Reply,
    dec,
    num,
    ok,
    unknown_symbol,
    ymd,
)
from kis_pipeline.simulator.rest_market import MarketView

BOND_ROWS = 30
_BONDS = {bond.code: bond for bond in TREASURIES}


def served_bars(view: MarketView, code: str) -> list[BondBar]:
    """Every bar of the bond from the book's start to the last completed session."""
    market = view.market
    sessions = market.trading_days(market.config.start, market.last_completed_session())
    return view.memo(
        ("bond", code, sessions[-1] if sessions else None),
        lambda: bond_bars(market.config.seed, _BONDS[code], sessions),
    )


def daily_itemchartprice(view: MarketView, params: Params, tr_cont: str) -> Reply:
    params.choice("FID_COND_MRKT_DIV_CODE", ("B",), max_len=2)
    code = params.require("FID_INPUT_ISCD", 12)
    if code not in _BONDS:
        raise unknown_symbol()
    rows = [
        {
            "stck_bsop_date": ymd(bar.day),
            "bond_oprc": dec(bar.open),
            "bond_hgpr": dec(bar.high),
            "bond_lwpr": dec(bar.low),
            "bond_prpr": dec(bar.close),
            "acml_vol": num(bar.volume),
        }
        for bar in reversed(served_bars(view, code)[-BOND_ROWS:])
    ]
    return Reply(ok(output=rows))


BOND_PRODUCT_TYPE = "302"


def issue_info(view: MarketView, params: Params, tr_cont: str) -> Reply:
    params.choice("PRDT_TYPE_CD", (BOND_PRODUCT_TYPE,), max_len=3)
    code = params.require("PDNO", 12)
    bond = _BONDS.get(code)
    if bond is None:
        raise unknown_symbol()
    return Reply(
        ok(
            output={
                "pdno": bond.code,
                "prdt_type_cd": BOND_PRODUCT_TYPE,
                "prdt_name": bond.name,
                "prdt_eng_name": bond.english_name,
                "bond_clsf_cd": "11",
                "bond_clsf_kor_name": "국고채권",
                "papr": num(FACE),
                "issu_amt": num(bond.outstanding),
                "lstg_rmnd": num(bond.outstanding),
                "int_dfrm_mcnt": num(12 // COUPONS_PER_YEAR),
                "srfc_inrt": dec(bond.coupon, 4),
                "issu_istt_name": "기획재정부",
                "issu_dt": ymd(bond.issued),
                "lstg_dt": ymd(bond.issued),
                "expd_dt": ymd(bond.maturity),
                "rdpt_dt": ymd(bond.maturity),
            }
        )
    )


ENDPOINTS = (
    Endpoint("/uapi/domestic-bond/v1/quotations/issue-info", "CTPF1101R", issue_info),
    Endpoint(
        "/uapi/domestic-bond/v1/quotations/inquire-daily-itemchartprice",
        "FHKBJ773701C0",
        daily_itemchartprice,
    ),
)
