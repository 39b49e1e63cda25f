"""The market activity families, declared: each is a `SymbolTrend` (`kis.endpoints`), the time
its nightly run starts, and the rules its rows must meet beyond the record rules.

The nightly runs start after the investor flows (18:40 KST) and the rankings (18:45), in an
order that leaves the late-settling member flows and program trading (per stock, then per
market) last, then the ETFs' NAV against price (`etf_nav`, the ETFs of `KIS_ETF_SYMBOLS`) and
the ELWs' bars and volatilities (`elw_prices`, the ELWs of `KIS_ELW_SYMBOLS`); they share the
`kis_api` pool, so they queue rather than split the request budget.
"""

from __future__ import annotations

import polars as pl

from kis_pipeline.defs.market_activity.factory import RowRule, TrendAsset, Watchlist, build
from kis_pipeline.kis.endpoints.trends import (
    MARKET_TRENDS,
    MEMBER_TRENDS,
    TRENDS,
    WATCHLIST_TRENDS,
)
from kis_pipeline.kis.settings import KisSettings


def nets(*prefixes: str, kinds: tuple[str, ...] = ("volume", "value")) -> RowRule:
    """Each net (`<prefix>net_<kind>`) is the buy less the sell."""
    exprs = [
        pl.col(f"{p}net_{kind}") == pl.col(f"{p}buy_{kind}") - pl.col(f"{p}sell_{kind}")
        for p in prefixes
        for kind in kinds
    ]
    units = " and in KRW" if "value" in kinds else ""
    return RowRule(f"The net is the buy less the sell, in shares{units}.", pl.all_horizontal(exprs))


_GROSS = ("buy_volume", "sell_volume", "buy_value", "sell_value")
PARTS = RowRule(
    "Arbitrage and non-arbitrage trades add up to the program total, bought and sold.",
    pl.all_horizontal(
        pl.col(f"arbitrage_{c}") + pl.col(f"non_arbitrage_{c}") == pl.col(c) for c in _GROSS
    ),
)
# KIS sends the premium (괴리율) and the close less the NAV to two decimals: a hundredth covers
# their rounding (or a truncation) and the float arithmetic.
ROUNDING = 0.01
_GAP = pl.col("close") - pl.col("nav")
PREMIUM = RowRule(
    "premium_rate is 100 * (close - nav) / nav, within 0.01 (KIS rounds it to two decimals).",
    (pl.col("premium_rate") - 100 * _GAP / pl.col("nav")).abs() <= ROUNDING,
)
CLOSE_VS_NAV = RowRule(
    "close_vs_nav is the close less the NAV, within 0.01 KRW.",
    (pl.col("close_vs_nav") - _GAP).abs() <= ROUNDING,
)


def etf_symbols(settings: KisSettings) -> tuple[str, ...]:
    return settings.etf_symbols


ETFS = Watchlist("KIS_ETF_SYMBOLS", "ETF", etf_symbols)

# KRX quotes every ELW on one tick (호가단위) of 5 KRW, whatever its price.
ELW_TICK = 5
_ELW_PRICES = ("open", "high", "low", "close")
ON_TICK = RowRule(
    f"open, high, low and close are whole multiples of KRX's ELW tick ({ELW_TICK} KRW).",
    pl.all_horizontal(pl.col(c) % ELW_TICK == 0 for c in _ELW_PRICES),
)
# KIS rounds the rate to two decimals; the previous close is the close less the change.
CHANGE_RATE = RowRule(
    "change_rate is 100 * change / (close - change), within 0.01 (KIS's two decimals).",
    (pl.col("change_rate") - 100 * pl.col("change") / (pl.col("close") - pl.col("change"))).abs()
    <= ROUNDING,
)


def elw_symbols(settings: KisSettings) -> tuple[str, ...]:
    return settings.elw_symbols


ELWS = Watchlist("KIS_ELW_SYMBOLS", "ELW", elw_symbols, example="58J297")
# A call's delta is 0 to 1, a put's -1 to 0: beyond that the record is not a warrant's.
DELTA = RowRule("delta is between -1 and 1.", pl.col("delta").abs() <= 1)

DECLARED = (
    TrendAsset(TRENDS["daily_trade_volume"], cron="50 18 * * 1-5"),
    TrendAsset(TRENDS["short_sales"], cron="55 18 * * 1-5"),
    TrendAsset(TRENDS["credit_balance"], cron="0 19 * * 1-5"),
    TrendAsset(TRENDS["lending_balance"], cron="5 19 * * 1-5"),
    TrendAsset(
        MEMBER_TRENDS["member_flows"],
        cron="10 19 * * 1-5",
        rules={"nets": nets("", kinds=("volume",))},
    ),
    TrendAsset(
        TRENDS["program_trading"],
        cron="15 19 * * 1-5",
        rules={"nets": nets("")},
    ),
    TrendAsset(
        MARKET_TRENDS["market_program_trading"],
        cron="20 19 * * 1-5",
        rules={"nets": nets("arbitrage_", "non_arbitrage_"), "parts": PARTS},
    ),
    TrendAsset(
        WATCHLIST_TRENDS["etf_nav"],
        cron="40 19 * * 1-5",
        rules={"premium": PREMIUM, "close_vs_nav": CLOSE_VS_NAV},
        watchlist=ETFS,
        source="official samples etfetn/nav_comparison_daily_trend, SPEC §17.2",
    ),
    TrendAsset(
        WATCHLIST_TRENDS["elw_prices"],
        cron="55 19 * * 1-5",
        rules={"tick": ON_TICK, "change_rate": CHANGE_RATE},
        watchlist=ELWS,
        source="official samples elw/volatility_trend_daily",
    ),
    TrendAsset(
        WATCHLIST_TRENDS["elw_greeks"],
        cron="57 19 * * 1-5",
        rules={"delta": DELTA, "change_rate": CHANGE_RATE},
        watchlist=ELWS,
        source="official samples elw/sensitivity_trend_daily",
    ),
)
BUILT = {declared.table: build(declared) for declared in DECLARED}
