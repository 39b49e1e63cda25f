"""The schemas of the frames the typed endpoints return (`kis.endpoints`).

They are declared once in `common.schemas`, because the warehouse's tables store these frames as
they are (API -> typed frames -> Parquet, no reshaping in between) and the warehouse may not
import the client. The client's modules and their callers read them here by the same names.
"""

from kis_pipeline.common.activity_schemas import (
    CREDIT_BALANCE,
    DAILY_TRADE_VOLUME,
    ELW_PRICES,
    ETF_NAV,
    LENDING_BALANCE,
    MARKET_PROGRAM_TRADING,
    MEMBER_FLOWS,
    PROGRAM_TRADING,
    SHORT_SALES,
)
from kis_pipeline.common.company_schemas import (
    ANALYST_ESTIMATES,
    ANALYST_OPINIONS,
    BONUS_ISSUES,
    CAPITAL_REDUCTIONS,
    LISTING_EVENTS,
    STOCK_INFO,
)
from kis_pipeline.common.schemas import (
    ALL,
    BALANCE_SHEET,
    CURRENT_PRICE,
    DAILY_PRICES,
    DAILY_PRICES_ADJUSTED,
    DIVIDENDS,
    FINANCIAL_RATIOS,
    INCOME_STATEMENT,
    INDEX_DAILY,
    INVESTOR_FLOWS,
    INVESTOR_GROUPS,
    MARKET_INVESTOR_FLOWS,
    MULTI_QUOTE,
    OVERSEAS_CALENDAR,
    OVERSEAS_DAILY_PRICES,
    RANKINGS,
    RECENT_EXECUTIONS,
    TRADING_CALENDAR,
)

__all__ = [
    "ALL",
    "ANALYST_ESTIMATES",
    "ANALYST_OPINIONS",
    "BALANCE_SHEET",
    "BONUS_ISSUES",
    "CAPITAL_REDUCTIONS",
    "CREDIT_BALANCE",
    "CURRENT_PRICE",
    "DAILY_PRICES",
    "DAILY_PRICES_ADJUSTED",
    "DAILY_TRADE_VOLUME",
    "DIVIDENDS",
    "ELW_PRICES",
    "ETF_NAV",
    "FINANCIAL_RATIOS",
    "INCOME_STATEMENT",
    "INDEX_DAILY",
    "INVESTOR_FLOWS",
    "INVESTOR_GROUPS",
    "LENDING_BALANCE",
    "LISTING_EVENTS",
    "MARKET_INVESTOR_FLOWS",
    "MARKET_PROGRAM_TRADING",
    "MEMBER_FLOWS",
    "MULTI_QUOTE",
    "OVERSEAS_CALENDAR",
    "OVERSEAS_DAILY_PRICES",
    "PROGRAM_TRADING",
    "RANKINGS",
    "RECENT_EXECUTIONS",
    "SHORT_SALES",
    "STOCK_INFO",
    "TRADING_CALENDAR",
]
