"""Schemas of the snapshot rankings of SPEC §8.4-§8.16, one table per KIS ranking screen.

KIS answers each screen's top 30 as they stand after the latest session, with no date and no
way to ask for an earlier one, so these tables are the screens' history, kept night after
night. A table holds every ordering the screen offers that we ask for: one row per
(date, ranking, rank), `ranking` naming the ordering (`per`, `pbr`, `near_high`, ...).

Every table leads with the same columns (a screen that does not send one leaves it null: the
dividend screen sends no quote, the expected-execution screen no day's volume) and ends with
the market division and the source; between them are the screen's own figures. Units follow
DESIGN §3.4: prices and amounts KRW, volumes shares, rates and ratios percent or times as KIS
sends them. Columns are written as in `activity_schemas.columns` (`name` Int64, `:F` Float64,
`:S` String, `:D` Date).
"""

from __future__ import annotations

import polars as pl

from kis_pipeline.common.activity_schemas import columns

_HEAD = "date:D ranking:S rank symbol:S name:S price change change_rate:F volume"
_TAIL = "venue:S source:S"


def ranking_table(figures: str) -> pl.Schema:
    """A snapshot ranking's schema: the shared head, the screen's `figures`, the shared tail."""
    return columns(f"{_HEAD} {figures} {_TAIL}")


RANKING_LISTS: dict[str, pl.Schema] = {
    # §8.4: valuation of the latest annual accounts (`fiscal_year`); EVA and EBITDA in KRW.
    "valuation_rankings": ranking_table(
        "fiscal_year per:F pbr:F psr:F eps:F eva ebitda ev_ebitda:F fiscal_month"
    ),
    # §8.5: the latest annual accounts' ratios (%), turnover in times.
    "finance_ratio_rankings": ranking_table(
        "fiscal_year return_on_capital:F capital_net_margin:F gross_margin:F net_margin:F "
        "equity_ratio:F debt_ratio:F borrowing_dependence:F reserve_ratio:F "
        "revenue_growth:F ordinary_profit_growth:F operating_profit_growth:F "
        "net_income_growth:F equity_growth:F capital_turnover:F asset_growth:F fiscal_month"
    ),
    # §8.6: the latest annual accounts' profits and balance-sheet totals, KRW.
    "profit_asset_rankings": ranking_table(
        "fiscal_year gross_profit operating_profit ordinary_profit net_income total_assets "
        "total_liabilities total_equity fiscal_month"
    ),
    # §8.7: the closing order book's resting quantities (shares) and each side's share (%).
    "quote_balance_rankings": ranking_table(
        "total_ask_volume total_bid_volume net_bid_volume bid_ratio:F ask_ratio:F"
    ),
    # §8.8: execution strength (buyers' volume against sellers', %) and both volumes.
    "execution_strength_rankings": ranking_table("strength:F buy_volume sell_volume"),
    # §8.9: the close against its 5- to 120-session moving averages (%, 100 = on the average).
    "disparity_rankings": ranking_table(
        "disparity_5d:F disparity_10d:F disparity_20d:F disparity_60d:F disparity_120d:F"
    ),
    # §8.10: cash dividends with a record date in the year to the session; KIS sends no quote.
    "dividend_yield_rankings": ranking_table(
        "record_date:D dividend_per_share dividend_rate:F dividend_kind:S"
    ),
    # §8.11: the session's short sales, against its volume and value (%).
    "short_sale_rankings": ranking_table(
        "value short_volume short_volume_share:F short_value short_value_share:F avg_price "
        "from_date:D to_date:D"
    ),
    # §8.12: margin-loan and stock-loan balances (shares, KRW, % of listed shares), and their
    # change over `CREDIT_CHANGE_DAYS` sessions (%).
    "credit_rankings": ranking_table(
        "loan_balance_volume loan_balance_value loan_balance_rate:F stock_loan_balance_volume "
        "stock_loan_balance_value stock_loan_balance_rate:F loan_balance_change_rate:F "
        "stock_loan_balance_change_rate:F"
    ),
    # §8.13: names near their 52-week high or low: the extreme and the price's distance (%).
    "new_high_low_rankings": ranking_table(
        "ask bid new_high high_proximity_rate:F new_low low_proximity_rate:F base_price"
    ),
    # §8.14: the session's block trades (each of at least the amount asked for): how many the
    # buyers took and how many the sellers took, and the buyers' shares less the sellers'.
    "block_trade_rankings": ranking_table("buy_block_count sell_block_count net_buy_volume"),
    # §8.15: KIS clients' watchlist registrations, with the day's value (KRW) and the closing
    # best ask and bid.
    "watchlist_rankings": ranking_table("value ask bid registrations"),
    # §8.16: the closing auction: `price` is its price (the expected one while it runs) against
    # base_price; what it executed (shares, KRW); the book's best prices and what rests there
    # and in total (shares).
    "expected_execution_rankings": ranking_table(
        "base_price ask bid ask_volume bid_volume total_ask_volume total_bid_volume "
        "executed_volume executed_value"
    ),
}
