"""The explicit output schemas of the typed endpoint layer (`kis/endpoints`), shared with the
warehouse, whose tables store these frames as they are.

One schema per output, named after its warehouse table where there is one (DESIGN §3.4). The
columns the table contract requires come first; the rest are extras. Units, whatever KIS sent:
- `date` and every `*_date` are the exchange-local date; `as_of` is the fetch date (KST);
- domestic prices are KRW integers (index levels, overseas prices and multi-quote prices,
  which may carry index levels, are floats in the instrument's currency);
- `value`, `*_value`, `market_cap`, `capital` and financial-statement items are KRW integers;
  `value_local` (overseas) is in the exchange's currency;
- volumes are shares; rates and ratios are percent as KIS gives them;
- `venue` is the market division the figures come from: `KRX`, `NXT`, `KRX+NXT` (or `INDEX`);
- `quality_flag` is null on a row nothing is suspicious about, else the reasons, comma-separated:
  `price_jump` = the close moved beyond the daily price limit (±30 %) from the previous row
  without a corporate-action flag (`kis.records.JumpRule`). Impossible values never reach a
  frame: those records are rejected (`kis.rejects`).
"""

from __future__ import annotations

import polars as pl

from kis_pipeline.common.activity_schemas import ACTIVITY
from kis_pipeline.common.bond_schemas import BOND_INFO, BOND_PRICES
from kis_pipeline.common.company_schemas import (
    BONUS_ISSUES,
    CAPITAL_REDUCTIONS,
    COMPANY,
    LISTING_EVENTS,
    MARKET_DAILY,
    MERGERS,
    RIGHTS_ISSUES,
)
from kis_pipeline.common.derivative_schemas import DERIVATIVES
from kis_pipeline.common.intraday_schemas import INTRADAY
from kis_pipeline.common.news_schemas import NEWS_TITLES
from kis_pipeline.common.ranking_schemas import RANKING_LISTS

_I = pl.Int64
_F = pl.Float64
_S = pl.String
_D = pl.Date
_B = pl.Boolean

# §7.7 inquire-ccnl: a symbol's newest executions (at most 30), oldest first; only a time of
# day (HHMMSS text, KST), no date: the caller knows the session.
RECENT_EXECUTIONS = pl.Schema(
    {
        "symbol": _S,
        "venue": _S,
        "time": _S,
        "price": _I,
        "change": _I,
        "change_sign": _S,
        "change_rate": _F,
        "volume": _I,
        "trade_strength": _F,
    }
)

# §7.1 inquire-price: one row per symbol; a snapshot, so no date (stamp it from the calendar).
CURRENT_PRICE = pl.Schema(
    {
        "symbol": _S,
        "venue": _S,
        "price": _I,
        "change": _I,
        "change_rate": _F,
        "open": _I,
        "high": _I,
        "low": _I,
        "volume": _I,
        "value": _I,
        "prev_volume_rate": _F,
        "upper_limit": _I,
        "lower_limit": _I,
        "base_price": _I,
        "vwap": _F,
        "listed_shares": _I,
        "market_cap": _I,
        "capital": _I,
        "par_value": _I,
        "tick_size": _I,
        "per": _F,
        "pbr": _F,
        "eps": _F,
        "bps": _F,
        "settlement_month": _S,
        "volume_turnover": _F,
        "foreign_holding_volume": _I,
        "foreign_exhaustion_rate": _F,
        "foreign_net_volume": _I,
        "program_net_volume": _I,
        "w52_high": _I,
        "w52_high_date": _D,
        "w52_low": _I,
        "w52_low_date": _D,
        "d250_high": _I,
        "d250_high_date": _D,
        "d250_low": _I,
        "d250_low_date": _D,
        "ytd_high": _I,
        "ytd_high_date": _D,
        "ytd_low": _I,
        "ytd_low_date": _D,
        "market_name": _S,
        "sector_name": _S,
        "status_code": _S,
        "market_warning_code": _S,
        "is_halted": _B,
        "is_administrative": _B,
        "is_short_term_overheated": _B,
        "is_liquidation_trading": _B,
        "is_credit_available": _B,
        "is_short_sale_available": _B,
        "vi_code": _S,
    }
)

# §7.3 inquire-daily-itemchartprice with FID_ORG_ADJ_PRC=1 (original prices).
DAILY_PRICES = pl.Schema(
    {
        "date": _D,
        "symbol": _S,
        "open": _I,
        "high": _I,
        "low": _I,
        "close": _I,
        "volume": _I,
        "value": _I,
        "change": _I,
        "venue": _S,
        # KIS's event flags (SPEC §7.3, §18.9): 락 구분, split ratio, revaluation reason.
        "ex_rights_code": _S,
        "split_ratio": _F,
        "revaluation_reason": _S,
        "is_modified": _B,
        "quality_flag": _S,
    }
)

# §7.3 with FID_ORG_ADJ_PRC=0; adj_factor = adjusted close / original close of the same day.
DAILY_PRICES_ADJUSTED = pl.Schema(
    {
        "date": _D,
        "symbol": _S,
        "open": _I,
        "high": _I,
        "low": _I,
        "close": _I,
        "volume": _I,
        "adj_factor": _F,
        "value": _I,
        "change": _I,
        "venue": _S,
        "quality_flag": _S,
    }
)

# §12.3 inquire-daily-indexchartprice.
INDEX_DAILY = pl.Schema(
    {
        "date": _D,
        "index_code": _S,
        "open": _F,
        "high": _F,
        "low": _F,
        "close": _F,
        "volume": _I,
        "value": _I,
        "is_modified": _B,
        "quality_flag": _S,
    }
)

# §13.3 overseas dailyprice.
OVERSEAS_DAILY_PRICES = pl.Schema(
    {
        "date": _D,
        "exchange": _S,
        "symbol": _S,
        "open": _F,
        "high": _F,
        "low": _F,
        "close": _F,
        "volume": _I,
        "value_local": _F,
        "change": _F,
        "change_rate": _F,
        "currency": _S,
        "is_adjusted": _B,
    }
)

# §8.1 volume, §8.2 fluctuation (rise/fall), §8.3 market cap: one schema, measures per ranking.
RANKINGS = pl.Schema(
    {
        "date": _D,
        "ranking": _S,
        "rank": _I,
        "symbol": _S,
        "source": _S,
        "name": _S,
        "venue": _S,
        "price": _I,
        "change": _I,
        "change_rate": _F,
        "volume": _I,
        "value": _I,
        "prev_volume": _I,
        "avg_volume": _I,
        "avg_value": _I,
        "volume_increase_rate": _F,
        "volume_turnover": _F,
        "value_turnover": _F,
        "high": _I,
        "low": _I,
        "open_change_rate": _F,
        "consecutive_up_days": _I,
        "consecutive_down_days": _I,
        "period_change_rate": _F,
        "listed_shares": _I,
        "market_cap": _I,
        "market_cap_weight": _F,
    }
)

# Investor groups of §9.1 / §9.3, in KIS's order; each has *_net_volume and *_net_value.
INVESTOR_GROUPS = (
    "individual",
    "foreign",
    "institution",
    "securities",
    "investment_trust",
    "private_fund",
    "bank",
    "insurance",
    "merchant_bank",
    "pension_fund",
    "other",
    "other_corp",
    "other_org",
)
_NETS = {f"{group}_net_{kind}": _I for kind in ("volume", "value") for group in INVESTOR_GROUPS}
# §9.3 also gives gross buys and sells per group.
_GROSS = {
    f"{group}_{side}_{kind}": _I
    for group in INVESTOR_GROUPS
    for side in ("buy", "sell")
    for kind in ("volume", "value")
}

# §9.3 investor-trade-by-stock-daily.
INVESTOR_FLOWS = pl.Schema(
    {
        "date": _D,
        "symbol": _S,
        **_NETS,
        "close": _I,
        "open": _I,
        "high": _I,
        "low": _I,
        "change": _I,
        "change_rate": _F,
        "volume": _I,
        "value": _I,
        "venue": _S,
        **_GROSS,
    }
)

# §9.1 inquire-investor-daily-by-market.
MARKET_INVESTOR_FLOWS = pl.Schema(
    {
        "date": _D,
        "market": _S,
        **_NETS,
        "index_code": _S,
        "index_open": _F,
        "index_high": _F,
        "index_low": _F,
        "index_close": _F,
        "index_change": _F,
        "index_change_rate": _F,
    }
)

_STATEMENT_KEYS = {"as_of": _D, "symbol": _S, "period": _S, "period_type": _S}

# §10.1 balance sheet; KRW.
BALANCE_SHEET = pl.Schema(
    {
        **_STATEMENT_KEYS,
        "current_assets": _I,
        "fixed_assets": _I,
        "total_assets": _I,
        "current_liabilities": _I,
        "fixed_liabilities": _I,
        "total_liabilities": _I,
        "capital": _I,
        "capital_surplus": _I,
        "retained_earnings": _I,
        "total_equity": _I,
    }
)

# §10.2 income statement; KRW; quarterly rows are year-to-date cumulative (SPEC §18.14).
INCOME_STATEMENT = pl.Schema(
    {
        **_STATEMENT_KEYS,
        "revenue": _I,
        "cost_of_sales": _I,
        "gross_profit": _I,
        "depreciation": _I,
        "selling_admin_expense": _I,
        "operating_profit": _I,
        "non_operating_income": _I,
        "non_operating_expense": _I,
        "ordinary_profit": _I,
        "extraordinary_gain": _I,
        "extraordinary_loss": _I,
        "net_income": _I,
    }
)

# §10.3 financial ratios; growth rates and ratios in percent, per-share values in KRW.
FINANCIAL_RATIOS = pl.Schema(
    {
        **_STATEMENT_KEYS,
        "revenue_growth": _F,
        "operating_profit_growth": _F,
        "net_income_growth": _F,
        "roe": _F,
        "eps": _F,
        "sps": _F,
        "bps": _F,
        "reserve_ratio": _F,
        "debt_ratio": _F,
    }
)

# §10.4 profit-ratio: net income over total capital, equity and revenue, gross margin; %.
PROFIT_RATIOS = pl.Schema(
    {
        **_STATEMENT_KEYS,
        "return_on_assets": _F,
        "return_on_equity": _F,
        "net_margin": _F,
        "gross_margin": _F,
    }
)

# §10.5 other-major-ratios: EVA and EBITDA in KRW, EV/EBITDA a multiple. KIS's payout ratio
# is left out: KIS itself flags it as abnormal output.
OTHER_RATIOS = pl.Schema({**_STATEMENT_KEYS, "eva": _I, "ebitda": _I, "ev_ebitda": _F})

# §10.6 stability-ratio: %.
STABILITY_RATIOS = pl.Schema(
    {
        **_STATEMENT_KEYS,
        "debt_ratio": _F,
        "borrowing_dependence": _F,
        "current_ratio": _F,
        "quick_ratio": _F,
    }
)

# §10.7 growth-ratio: against the same period a year before; %.
GROWTH_RATIOS = pl.Schema(
    {
        **_STATEMENT_KEYS,
        "revenue_growth": _F,
        "operating_profit_growth": _F,
        "equity_growth": _F,
        "total_assets_growth": _F,
    }
)

# §10.8 KSD dividend schedule.
DIVIDENDS = pl.Schema(
    {
        "symbol": _S,
        "record_date": _D,
        "pay_date": _D,
        "dividend_kind": _S,
        "dividend_per_share": _I,
        "name": _S,
        "share_class": _S,
        "face_value": _I,
        "cash_dividend_rate": _F,
        "stock_dividend_rate": _F,
        "stock_dividend_pay_date": _D,
        "odd_lot_pay_date": _D,
        "is_high_dividend": _B,
    }
)

# §11.1 chk-holiday.
TRADING_CALENDAR = pl.Schema(
    {
        "date": _D,
        "is_business_day": _B,
        "is_trading_day": _B,
        "is_market_open": _B,
        "is_settlement_day": _B,
        # KIS's own 거래일여부 (tr_day_yn), "Y" even on weekends in the portal example.
        "is_securities_business_day": _B,
    }
)

# §13.8 countries-holiday: one row per (date, overseas exchange); settlement dates of a trade
# made that day, null when the exchange is closed.
OVERSEAS_CALENDAR = pl.Schema(
    {
        "date": _D,
        "exchange": _S,
        "country": _S,
        "is_open": _B,
        "local_settlement_date": _D,
        "domestic_settlement_date": _D,
    }
)

# §7.11 intstock-multprice: one row per requested symbol, in request order; no date.
MULTI_QUOTE = pl.Schema(
    {
        "symbol": _S,
        # False when KIS answered the slot with a row of empty strings (unknown code).
        "found": _B,
        "is_traded": _B,
        "venue": _S,
        "name": _S,
        "price": _F,
        "change": _F,
        "change_rate": _F,
        "open": _F,
        "high": _F,
        "low": _F,
        "volume": _I,
        "value": _I,
        "prev_close": _F,
        "base_price": _F,
        "upper_limit": _F,
        "lower_limit": _F,
        "ask": _F,
        "bid": _F,
        "ask_volume": _I,
        "bid_volume": _I,
        "total_ask_volume": _I,
        "total_bid_volume": _I,
        "high_vs_open_rate": _F,
        "expected_change": _F,
        "expected_change_rate": _F,
        "expected_volume": _I,
    }
)

ALL: dict[str, pl.Schema] = {
    "current_price": CURRENT_PRICE,
    "daily_prices": DAILY_PRICES,
    "daily_prices_adjusted": DAILY_PRICES_ADJUSTED,
    "index_daily": INDEX_DAILY,
    "overseas_daily_prices": OVERSEAS_DAILY_PRICES,
    "rankings": RANKINGS,
    **RANKING_LISTS,
    "bond_prices": BOND_PRICES,
    "bond_info": BOND_INFO,
    "investor_flows": INVESTOR_FLOWS,
    "market_investor_flows": MARKET_INVESTOR_FLOWS,
    "balance_sheet": BALANCE_SHEET,
    "income_statement": INCOME_STATEMENT,
    "financial_ratios": FINANCIAL_RATIOS,
    "profit_ratios": PROFIT_RATIOS,
    "other_ratios": OTHER_RATIOS,
    "stability_ratios": STABILITY_RATIOS,
    "growth_ratios": GROWTH_RATIOS,
    "dividends": DIVIDENDS,
    "trading_calendar": TRADING_CALENDAR,
    "overseas_calendar": OVERSEAS_CALENDAR,
    "multi_quote": MULTI_QUOTE,
    **ACTIVITY,
    **DERIVATIVES,
    **COMPANY,
    "listing_events": LISTING_EVENTS,
    "bonus_issues": BONUS_ISSUES,
    "capital_reductions": CAPITAL_REDUCTIONS,
    "rights_issues": RIGHTS_ISSUES,
    "mergers": MERGERS,
    **INTRADAY,
    "news_titles": NEWS_TITLES,
    "market_daily": MARKET_DAILY,
}
