"""KOSPI200 futures and options period chart, inquire-daily-fuopchartprice FHKIF03020100,
served from `market_derivatives` (the official sample
`examples_llm/domestic_futureoption/inquire_daily_fuopchartprice`).

`FID_COND_MRKT_DIV_CODE` `F` (futures) or `O` (options) must match the code; a code that is
not a KOSPI200 derivative, or is not listed by the last completed session, is KIS's unknown
symbol error. Only daily bars (`D`) are served; W, M and Y are refused as a bad period.
`output2`: the trading days of the window, newest first, at most 100 (no tr_cont paging);
`output1`: the code's snapshot at its latest session (the last completed one, or its expiry).
"""

from __future__ import annotations

import datetime as dt

from kis_pipeline.common.krx_derivatives import FUTURE, Contract, parse_code
from kis_pipeline.simulator.market_derivatives import DerivativeBar, derivative_bar, listed
from kis_pipeline.simulator.rest_common import (
    Endpoint,
    Params,
    Reply,
    dec,
    invalid_param,
    num,
    ok,
    rate,
    sign,
    unknown_symbol,
    ymd,
)
from kis_pipeline.simulator.rest_market import MarketView

ROWS_PER_CALL = 100
PATH = "/uapi/domestic-futureoption/v1/quotations/inquire-daily-fuopchartprice"
TR_ID = "FHKIF03020100"


def _contract(view: MarketView, params: Params) -> Contract:
    market = params.choice("FID_COND_MRKT_DIV_CODE", ("F", "O"), 2)
    code = params.require("FID_INPUT_ISCD", 12)
    session = view.session()
    contract = parse_code(code, session)
    if contract is None or (contract.kind == FUTURE) != (market == "F"):
        raise unknown_symbol()
    listed_by = min(session, contract.expiry)
    if not listed(contract, listed_by) or (contract.strike is not None and contract.strike <= 0):
        raise unknown_symbol()
    return contract


def _bars(
    view: MarketView, contract: Contract, start: dt.date, end: dt.date
) -> list[DerivativeBar]:
    """Newest first, within the history and the contract's listing."""
    end = min(end, view.session(), contract.expiry)
    days = view.sessions_until(end, ROWS_PER_CALL) if start <= end else []
    bars = [derivative_bar(view, contract, day) for day in days if day >= start]
    return [bar for bar in bars if bar is not None]


def _summary(view: MarketView, contract: Contract) -> dict[str, str]:
    latest = _bars(view, contract, view.first_session(), view.session())[:2]
    if not latest:
        return {}
    bar = latest[0]
    prev = latest[1] if len(latest) > 1 else bar
    change = bar.close - prev.close
    index_change = bar.underlying - prev.underlying
    return {
        "futs_prdy_vrss": dec(change),
        "prdy_vrss_sign": sign(change),
        "futs_prdy_ctrt": rate(change, prev.close),
        "futs_prdy_clpr": dec(prev.close),
        "acml_vol": num(bar.volume),
        "acml_tr_pbmn": num(bar.value),
        "hts_kor_isnm": f"KOSPI200 {contract.kind.upper()} {contract.expiry_month}",
        "futs_prpr": dec(bar.close),
        "futs_shrn_iscd": contract.code,
        "prdy_vol": num(prev.volume),
        "futs_oprc": dec(bar.open),
        "futs_hgpr": dec(bar.high),
        "futs_lwpr": dec(bar.low),
        "basis": dec(bar.close - bar.underlying),
        "kospi200_nmix": dec(bar.underlying),
        "kospi200_prdy_vrss": dec(index_change),
        "kospi200_prdy_ctrt": rate(index_change, prev.underlying),
        "kospi200_prdy_vrss_sign": sign(index_change),
        "hts_otst_stpl_qty": num(bar.open_interest),
        "otst_stpl_qty_icdc": num(bar.open_interest - prev.open_interest),
        "hts_thpr": dec(bar.theoretical),
        "dprt": rate(bar.close - bar.theoretical, bar.theoretical),
    }


def _row(bar: DerivativeBar) -> dict[str, str]:
    return {
        "stck_bsop_date": ymd(bar.date),
        "futs_prpr": dec(bar.close),
        "futs_oprc": dec(bar.open),
        "futs_hgpr": dec(bar.high),
        "futs_lwpr": dec(bar.low),
        "acml_vol": num(bar.volume),
        "acml_tr_pbmn": num(bar.value),
        "mod_yn": "N",
    }


def futures_options_chart(view: MarketView, params: Params, tr_cont: str) -> Reply:
    contract = _contract(view, params)
    start, end = params.date("FID_INPUT_DATE_1"), params.date("FID_INPUT_DATE_2")
    if params.choice("FID_PERIOD_DIV_CODE", ("D", "W", "M", "Y"), 32) != "D":
        raise invalid_param("FID_PERIOD_DIV_CODE")
    bars = _bars(view, contract, start, end)
    return Reply(ok(output1=_summary(view, contract), output2=[_row(bar) for bar in bars]))


ENDPOINTS = (Endpoint(PATH, TR_ID, futures_options_chart),)
