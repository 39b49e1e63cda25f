"""The ETF NAV daily trend (`nav-comparison-daily-trend`, FHPST02440200; fields from the official
samples, docs/etf_nav.md), served from the NAV model of `market_etfs`.

`FID_COND_MRKT_DIV_CODE` must be `J`; a code that is not one of the modelled ETFs (a stock, an
unknown code) is KIS's symbol error. The answer holds the trading days of [FID_INPUT_DATE_1,
FID_INPUT_DATE_2], newest first, at most `ROWS_PER_CALL` of them (the newest), with no
`tr_cont` paging: a caller walks the end back, as the samples' 100-a-call cap asks.
"""

from __future__ import annotations

from kis_pipeline.simulator.market_etfs import BY_CODE, EtfBar
from kis_pipeline.simulator.rest_common import (
    Endpoint,
    Params,
    Reply,
    dec,
    num,
    ok,
    rate,
    sign,
    unknown_symbol,
    ymd,
)
from kis_pipeline.simulator.rest_market import MarketView

ROWS_PER_CALL = 100
PATH = "/uapi/etfetn/v1/quotations/nav-comparison-daily-trend"
TR_ID = "FHPST02440200"


def nav_row(bar: EtfBar) -> dict[str, str]:
    """One session in KIS's fields: the close against the previous one, the NAV against the
    previous one, the close less the NAV and the disparity (괴리율) to two decimals."""
    change = bar.close - bar.prev_close
    nav_change = bar.nav - bar.prev_nav
    return {
        "stck_bsop_date": ymd(bar.date),
        "stck_clpr": num(bar.close),
        "prdy_vrss": num(change),
        "prdy_vrss_sign": sign(change),
        "prdy_ctrt": rate(change, bar.prev_close),
        "acml_vol": num(bar.volume),
        # The size of one execution, the session's last (the closing auction's).
        "cntg_vol": num(bar.volume // 40),
        "dprt": dec(bar.premium_rate),
        "nav_vrss_prpr": dec(bar.close - bar.nav),
        "nav": dec(bar.nav),
        "nav_prdy_vrss_sign": sign(nav_change),
        "nav_prdy_vrss": dec(nav_change),
        "nav_prdy_ctrt": rate(nav_change, bar.prev_nav),
    }


def nav_comparison_daily_trend(view: MarketView, params: Params, tr_cont: str) -> Reply:
    params.choice("FID_COND_MRKT_DIV_CODE", ("J",), max_len=2)
    code = params.require("FID_INPUT_ISCD", 12)
    if code not in BY_CODE:
        raise unknown_symbol()
    start, end = params.date("FID_INPUT_DATE_1"), params.date("FID_INPUT_DATE_2")
    days = [day for day in view.sessions_until(end, ROWS_PER_CALL) if day >= start]
    bars = view.market.etf_bars(code, days[-1], days[0]) if days else []
    return Reply(ok(output=[nav_row(bar) for bar in reversed(bars)]))


ENDPOINTS = (Endpoint(PATH, TR_ID, nav_comparison_daily_trend),)
