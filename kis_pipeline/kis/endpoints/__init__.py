"""The typed endpoint layer: one module per KIS endpoint family, each returning polars frames.

Every function takes the `KisClient` first, sends its parameters exactly as SPEC lists them,
walks the endpoint's paging, and returns a frame of the matching `kis.schemas` entry: English
column names, dates as `pl.Date`, money in KRW, volumes in shares (DESIGN §3.4). KIS field
names never leave these modules. Malformed answers raise `kis.errors.PayloadError`.

Families: `prices` (§7.1, §7.3), `executions` (§7.7), `quotes` (§7.11), `index` (§12.3),
`overseas` (§13.3), `rankings` (§8.1-8.3), `flows` (§9.1, §9.3), `fundamentals` (§10.1-10.3),
`dividends` (§10.8), `calendar` (§11.1); the stock master files are in `master`. The
daily trends are declared, not written as functions: `program_trading` (§9.6),
`credit_balance` (§9.9), `short_sales` (§9.10), `lending_balance` (§9.11) and
`trade_volume` (§9.12), each a `SymbolTrend` (`_trend`), listed in `trends.TRENDS`, and
`market_program_trading` (§9.8), keyed by market, in `trends.MARKET_TRENDS`,
`member_flows` (§9.13), per symbol and member firm, in `trends.MEMBER_TRENDS`, and `etf_nav`
(§17.2, the ETFs' NAV against price), per ETF of `KIS_ETF_SYMBOLS`, in
`trends.WATCHLIST_TRENDS`.
"""

from __future__ import annotations

from kis_pipeline.kis.endpoints.calendar import fetch_trading_calendar
from kis_pipeline.kis.endpoints.dividends import fetch_dividends
from kis_pipeline.kis.endpoints.executions import fetch_recent_executions
from kis_pipeline.kis.endpoints.flows import fetch_investor_flows, fetch_market_investor_flows
from kis_pipeline.kis.endpoints.fundamentals import (
    fetch_balance_sheet,
    fetch_financial_ratios,
    fetch_income_statement,
)
from kis_pipeline.kis.endpoints.index import fetch_index_daily
from kis_pipeline.kis.endpoints.overseas import fetch_overseas_daily
from kis_pipeline.kis.endpoints.prices import (
    fetch_current_price,
    fetch_daily_chart,
    with_adj_factor,
)
from kis_pipeline.kis.endpoints.quotes import fetch_multi_quote, unknown_symbols
from kis_pipeline.kis.endpoints.rankings import (
    fetch_fluctuation_ranking,
    fetch_market_cap_ranking,
    fetch_volume_ranking,
)

__all__ = [
    "fetch_balance_sheet",
    "fetch_current_price",
    "fetch_daily_chart",
    "fetch_dividends",
    "fetch_financial_ratios",
    "fetch_fluctuation_ranking",
    "fetch_income_statement",
    "fetch_index_daily",
    "fetch_investor_flows",
    "fetch_market_cap_ranking",
    "fetch_market_investor_flows",
    "fetch_multi_quote",
    "fetch_overseas_daily",
    "fetch_recent_executions",
    "fetch_trading_calendar",
    "fetch_volume_ranking",
    "unknown_symbols",
    "with_adj_factor",
]
