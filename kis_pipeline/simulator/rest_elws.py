"""The ELW daily volatility trend (`volatility-trend-daily`, FHPEW02840200) and sensitivity
trend (`sensitivity-trend-daily`, FHPEW02830200; fields from the official samples,
docs/elw_prices.md), served from the Black-Scholes warrants of `market_elws`. The sensitivity
trend sends the theoretical price with two decimals, gamma with eight, the other Greeks with
four (the samples state no format).

`FID_COND_MRKT_DIV_CODE` must be `W`; a code that is not one of the modelled warrants (a stock,
an unknown code) is KIS's symbol error. The request carries no date: the answer is the
warrant's newest `ROWS_PER_CALL` sessions up to the last completed one, newest first, with no
`tr_cont` page behind it (the portal marks the endpoint as one that does not continue).
"""

from __future__ import annotations

from kis_pipeline.simulator.market_elws import BY_CODE, HISTORY_WINDOWS, ElwBar, greeks
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
SENSITIVITY_PATH = "/uapi/elw/v1/quotations/sensitivity-trend-daily"
SENSITIVITY_TR_ID = "FHPEW02830200"


def volatility_row(bar: ElwBar) -> dict[str, str]:
    """One session in KIS's fields: the bar against the previous close, the volume, the
    underlying's historical volatilities and the warrant's implied one, in percent."""
    row = _close(bar) | {
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


def _close(bar: ElwBar) -> dict[str, str]:
    change = bar.close - bar.prev_close
    return {
        "stck_bsop_date": ymd(bar.date),
        "elw_prpr": num(bar.close),
        "prdy_vrss": num(change),
        "prdy_vrss_sign": sign(change),
        "prdy_ctrt": rate(change, bar.prev_close),
    }


def sensitivity_row(code: str, seed: int, bar: ElwBar) -> dict[str, str]:
    """One session in KIS's fields: the close against the previous one and Black-Scholes's
    value and Greeks at the underlying's close."""
    g = greeks(seed, BY_CODE[code], bar.date, bar.underlying_close)
    return _close(bar) | {
        "hts_thpr": dec(g.theoretical),
        "delta_val": dec(g.delta, 4),
        "gama": dec(g.gamma, 8),
        "theta": dec(g.theta, 4),
        "vega": dec(g.vega, 4),
        "rho": dec(g.rho, 4),
    }


def _newest_bars(view: MarketView, params: Params) -> tuple[str, list[ElwBar]]:
    """The warrant asked for and its newest `ROWS_PER_CALL` sessions, newest first."""
    params.choice("FID_COND_MRKT_DIV_CODE", ("W",), max_len=2)
    code = params.require("FID_INPUT_ISCD", 12)
    if code not in BY_CODE:
        raise unknown_symbol()
    days = view.sessions_until(view.session(), ROWS_PER_CALL)
    bars = view.market.elw_bars(code, days[-1], days[0]) if days else []
    return code, list(reversed(bars))


def volatility_trend_daily(view: MarketView, params: Params, tr_cont: str) -> Reply:
    _, bars = _newest_bars(view, params)
    return Reply(ok(output=[volatility_row(bar) for bar in bars]))


def sensitivity_trend_daily(view: MarketView, params: Params, tr_cont: str) -> Reply:
    code, bars = _newest_bars(view, params)
    seed = view.market.config.seed
    return Reply(ok(output=[sensitivity_row(code, seed, bar) for bar in bars]))


ENDPOINTS = (
    Endpoint(PATH, TR_ID, volatility_trend_daily),
    Endpoint(SENSITIVITY_PATH, SENSITIVITY_TR_ID, sensitivity_trend_daily),
)
