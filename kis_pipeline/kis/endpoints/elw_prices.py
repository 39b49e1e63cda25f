"""An ELW's (equity-linked warrant's) daily bar with its volatilities, volatility-trend-daily
FHPEW02840200 (ELW 변동성 추이(일별)); and its daily sensitivities, sensitivity-trend-daily
FHPEW02830200 (ELW 민감도 추이(일별), 국내주식-176): the close and change, KIS's theoretical price
(`hts_thpr`) and delta, gamma, theta, vega and rho, the same one page of newest sessions a call.

Not in SPEC; the fields come from the official samples (`examples_llm/elw/
volatility_trend_daily`, 국내주식-178), see docs/elw_prices.md. One ELW under market `W` a call,
no date and no `tr_cont` paging: KIS answers the warrant's newest sessions, newest first, so a
night costs one call per ELW and a backfill reaches back only as far as that one page. KIS
sends the day's open, high, low and close (KRW per warrant) with the change and volume, the
historical volatility over 10, 20, 30, 60 and 90 sessions and its implied volatility, both
annualised in percent. No mock (VTS) TR_ID.
"""

from __future__ import annotations

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._base import Endpoint
from kis_pipeline.kis.endpoints._trend import SYMBOL, SymbolTrend, Window
from kis_pipeline.kis.endpoints.prices import OHLC_ORDER, ZERO_MEANS_NO_PRICE
from kis_pipeline.kis.records import RecordSpec, field_map

ELW_QUOTATIONS = "/uapi/elw/v1/quotations"
ELW_MARKET = "W"
# The sessions one answer holds: KIS documents no count; the simulator serves this many, the
# figure the other undocumented daily trends answer.
SESSIONS_PER_CALL = 30
HISTORICAL = tuple(f"hist_vol_{n}d" for n in (10, 20, 30, 60, 90))

ELW_PRICE_FIELDS = field_map(
    """
    stck_bsop_date  date
    elw_oprc        open
    elw_hgpr        high
    elw_lwpr        low
    elw_prpr        close
    prdy_vrss       change
    prdy_ctrt       change_rate
    acml_vol        volume
    d10_hist_vltl   hist_vol_10d
    d20_hist_vltl   hist_vol_20d
    d30_hist_vltl   hist_vol_30d
    d60_hist_vltl   hist_vol_60d
    d90_hist_vltl   hist_vol_90d
    hts_ints_vltl   implied_vol
    """
)
ELW_PRICE_ROWS = RecordSpec(
    table="elw_prices",
    schema=schemas.ELW_PRICES,
    fields=ELW_PRICE_FIELDS,
    # A day without trades reads 0 for the open, high and low, as a stock's bar does.
    no_trade=ZERO_MEANS_NO_PRICE,
    required=("date", "close", "volume", "implied_vol"),
    # The close never reaches 0: the smallest price is one tick.
    positive=("close",),
    non_negative=("volume", "implied_vol", *HISTORICAL),
    ordered=OHLC_ORDER,
)


def elw_trend(name: str, tr_id: str, rows: RecordSpec) -> SymbolTrend:
    """An undated ELW daily trend: one ELW under market `W` a call, one page of its newest
    sessions."""
    return SymbolTrend(
        Endpoint(name, f"{ELW_QUOTATIONS}/{name}", tr_id, "output", rows),
        Window("", rows=SESSIONS_PER_CALL),
        {"FID_COND_MRKT_DIV_CODE": ELW_MARKET, "FID_INPUT_ISCD": SYMBOL},
    )


ELW_PRICES = elw_trend("volatility-trend-daily", "FHPEW02840200", ELW_PRICE_ROWS)

ELW_GREEK_FIELDS = field_map(
    """
    stck_bsop_date  date
    elw_prpr        close
    prdy_vrss       change
    prdy_ctrt       change_rate
    hts_thpr        theoretical_price
    delta_val       delta
    gama            gamma
    theta           theta
    vega            vega
    rho             rho
    """
)
ELW_GREEK_ROWS = RecordSpec(
    table="elw_greeks",
    schema=schemas.ELW_GREEKS,
    fields=ELW_GREEK_FIELDS,
    required=("date", "close", "theoretical_price", "delta", "gamma", "vega"),
    positive=("close",),
    # A warrant's value, convexity and volatility exposure are never negative.
    non_negative=("theoretical_price", "gamma", "vega"),
)
ELW_GREEKS = elw_trend("sensitivity-trend-daily", "FHPEW02830200", ELW_GREEK_ROWS)
