"""The ELW daily volatility trend (`volatility-trend-daily`, FHPEW02840200; fields from the
official samples, docs/elw_prices.md), served from the Black-Scholes warrants of `market_elws`.

`FID_COND_MRKT_DIV_CODE` must be `W`; a code that is not one of the modelled warrants (a stock,
an unknown code) is KIS's symbol error. The request carries no date: the answer is the
warrant's newest `ROWS_PER_CALL` sessions up to the last completed one, newest first, with no
`tr_cont` page behind it (the portal marks the endpoint as one that does not continue).
"""

from __future__ import annotations

from kis_pipeline.simulator.market_elws import BY_CODE, HISTORY_WINDOWS, ElwBar
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

ROWS_PER_CALL = 30
PATH = "/uapi/elw/v1/quotations/volatility-trend-daily"
TR_ID = "FHPEW02840200"


def volatility_row(bar: ElwBar) -> dict[str, str]:
    """One session in KIS's fields: the bar against the previous close, the volume, the
    underlying's historical volatilities and the warrant's implied one, in percent."""
    change = bar.close - bar.prev_close
    row = {
        "stck_bsop_date": ymd(bar.date),
        "elw_prpr": num(bar.close),
        "prdy_vrss": num(change),
        "prdy_vrss_sign": sign(change),
        "prdy_ctrt": rate(change, bar.prev_close),
        "elw_oprc": num(bar.open),
        "elw_hgpr": num(bar.high),
        "elw_lwpr": num(bar.low),
        "acml_vol": num(bar.volume),
    }
    row |= {
        f"d{n}_hist_vltl": dec(v * 100)
        for n, v in zip(HISTORY_WINDOWS, bar.historical, strict=True)
    }
    return row | {"hts_ints_vltl": dec(bar.vol * 100)}


def volatility_trend_daily(view: MarketView, params: Params, tr_cont: str) -> Reply:
    params.choice("FID_COND_MRKT_DIV_CODE", ("W",), max_len=2)
    code = params.require("FID_INPUT_ISCD", 12)
    if code not in BY_CODE:
        raise unknown_symbol()
    days = view.sessions_until(view.session(), ROWS_PER_CALL)
    bars = view.market.elw_bars(code, days[-1], days[0]) if days else []
    return Reply(ok(output=[volatility_row(bar) for bar in reversed(bars)]))


ENDPOINTS = (Endpoint(PATH, TR_ID, volatility_trend_daily),)
