"""Every daily trend family (`SymbolTrend`), in the order the nightly runs them: the ones that
settle late (program trading) last. `TRENDS` are keyed by symbol (one call per symbol),
`MARKET_TRENDS` by market, `MEMBER_TRENDS` by symbol and member firm, `WATCHLIST_TRENDS` by the
codes a setting names (the ETFs of `KIS_ETF_SYMBOLS`, the ELWs of `KIS_ELW_SYMBOLS`);
`ALL_TRENDS` holds them all."""

from __future__ import annotations

from kis_pipeline.kis.endpoints._trend import SymbolTrend
from kis_pipeline.kis.endpoints.credit_balance import CREDIT_BALANCE
from kis_pipeline.kis.endpoints.elw_prices import ELW_GREEKS, ELW_PRICES
from kis_pipeline.kis.endpoints.etf_nav import ETF_NAV
from kis_pipeline.kis.endpoints.lending_balance import LENDING_BALANCE
from kis_pipeline.kis.endpoints.market_program_trading import MARKET_PROGRAM_TRADING
from kis_pipeline.kis.endpoints.member_flows import MEMBER_FLOWS
from kis_pipeline.kis.endpoints.program_trading import PROGRAM_TRADING
from kis_pipeline.kis.endpoints.short_sales import SHORT_SALES
from kis_pipeline.kis.endpoints.trade_volume import DAILY_TRADE_VOLUME

TRENDS: dict[str, SymbolTrend] = {
    trend.table: trend
    for trend in (
        DAILY_TRADE_VOLUME,
        SHORT_SALES,
        CREDIT_BALANCE,
        LENDING_BALANCE,
        PROGRAM_TRADING,
    )
}
MARKET_TRENDS: dict[str, SymbolTrend] = {trend.table: trend for trend in (MARKET_PROGRAM_TRADING,)}
MEMBER_TRENDS: dict[str, SymbolTrend] = {MEMBER_FLOWS.table: MEMBER_FLOWS}
WATCHLIST_TRENDS: dict[str, SymbolTrend] = {t.table: t for t in (ETF_NAV, ELW_PRICES, ELW_GREEKS)}
ALL_TRENDS: dict[str, SymbolTrend] = {
    **TRENDS,
    **MEMBER_TRENDS,
    **MARKET_TRENDS,
    **WATCHLIST_TRENDS,
}
