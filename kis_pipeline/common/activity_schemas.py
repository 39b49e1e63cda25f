"""Schemas of the daily trend tables (SPEC §9.6, §9.8-§9.12): one row per (date, key), the key
a symbol or, for the market-wide program trading, a market (KOSPI, KOSDAQ); volumes in shares,
money in KRW, rates in percent (DESIGN §3.4).

Each table leads with date and its key; a per-symbol table carries the day's close, change and
volume as KIS sends them next to the family's own figures, so a row can be read without a join.
Columns are written `name` (Int64, the common case), `name:F` (Float64), `name:S` (String),
`name:D` (Date), `name:B` (Boolean).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import polars as pl

_TYPES = {"": pl.Int64, "F": pl.Float64, "S": pl.String, "D": pl.Date, "B": pl.Boolean}
_DAY = "date:D symbol:S"
_CLOSE = "close change change_rate:F volume"
_KINDS = ("volume", "value")


def names(*words: Sequence[str]) -> str:
    """Every `a_b_c` of one word from each of `words`, the first varying slowest."""
    return " ".join("_".join(combination) for combination in itertools.product(*words))


def columns(spec: str) -> pl.Schema:
    """The schema written in `spec`, in its order (see the module docstring)."""
    pairs = (name.partition(":") for name in spec.split())
    return pl.Schema({name: _TYPES[kind] for name, _, kind in pairs})


# §9.6 program-trade-by-stock-daily.
PROGRAM_TRADING = columns(
    f"{_DAY} buy_volume sell_volume net_volume buy_value sell_value net_value "
    f"net_volume_change net_value_change {_CLOSE} value venue:S"
)

# §9.8 comp-program-trade-daily: a market's program trading, arbitrage and non-arbitrage
# (each bought, sold and net) and their sum. KIS sends no net of the sum.
_PROGRAM_PARTS = names(("arbitrage", "non_arbitrage"), ("buy", "sell", "net"), _KINDS)
MARKET_PROGRAM_TRADING = columns(
    f"date:D market:S {_PROGRAM_PARTS} buy_volume sell_volume buy_value sell_value venue:S"
)

# §9.9 daily-credit-balance: margin loans (융자) and stock loans for short sale (대주).
_CREDIT = names(("loan", "stock_loan"), ("new", "repaid", "balance"), _KINDS)
CREDIT_BALANCE = columns(
    f"{_DAY} settlement_date:D {_CREDIT} loan_balance_rate:F loan_supply_rate:F "
    f"stock_loan_balance_rate:F stock_loan_supply_rate:F {_CLOSE} open high low"
)

# §9.10 daily-short-sale. KIS's cumulative columns are left out: they run from the first
# day of each request's window, so one day would read differently from call to call.
SHORT_SALES = columns(
    f"{_DAY} short_volume short_value short_volume_share:F short_value_share:F base_volume "
    f"base_value {_CLOSE} value open high low average_price"
)

# §9.11 daily-loan-trans: securities lending (대차거래).
LENDING_BALANCE = columns(
    f"{_DAY} new_volume repaid_volume balance_change balance_volume balance_value {_CLOSE}"
)

# §9.12 inquire-daily-trade-volume: executed volume by the side that took the trade.
DAILY_TRADE_VOLUME = columns(f"{_DAY} buy_volume sell_volume venue:S")

# §9.13 inquire-member-daily: what one member firm (broker) bought and sold of a stock. KIS
# sends no amounts, only shares.
MEMBER_FLOWS = columns(f"{_DAY} member:S buy_volume sell_volume net_volume {_CLOSE}")

# nav-comparison-daily-trend (SPEC §17.2; fields from the official samples, docs/etf_nav.md):
# an ETF's (or ETN's) close against its NAV, KRW per share with two decimals; `close_vs_nav` is
# the close less the NAV (KRW), `premium_rate` KIS's disparity (괴리율), the same over the NAV
# in percent: above zero a premium, below a discount.
ETF_NAV = columns(
    f"{_DAY} {_CLOSE} nav:F nav_change:F nav_change_rate:F close_vs_nav:F premium_rate:F"
)

# volatility-trend-daily (official samples, docs/elw_prices.md): an ELW's daily bar in KRW per
# warrant (KRX's ELW tick is 5 KRW), the historical volatilities over 10 to 90 sessions and
# KIS's implied volatility, all annualised in percent.
ELW_PRICES = columns(
    f"{_DAY} open high low {_CLOSE} "
    + " ".join(f"hist_vol_{n}d:F" for n in (10, 20, 30, 60, 90))
    + " implied_vol:F"
)

# sensitivity-trend-daily (official samples, docs/elw_prices.md): an ELW's close (KRW per
# warrant) and change, KIS's theoretical price (KRW per warrant) and the Greeks as KIS sends
# them: delta and gamma per share of the underlying, theta, vega and rho in KRW per warrant (a
# calendar day, a percentage point of volatility, of the rate).
ELW_GREEKS = columns(
    f"{_DAY} close change change_rate:F theoretical_price:F delta:F gamma:F theta:F vega:F rho:F"
)

ACTIVITY: dict[str, pl.Schema] = {
    "program_trading": PROGRAM_TRADING,
    "credit_balance": CREDIT_BALANCE,
    "short_sales": SHORT_SALES,
    "lending_balance": LENDING_BALANCE,
    "daily_trade_volume": DAILY_TRADE_VOLUME,
    "market_program_trading": MARKET_PROGRAM_TRADING,
    "member_flows": MEMBER_FLOWS,
    "etf_nav": ETF_NAV,
    "elw_prices": ELW_PRICES,
    "elw_greeks": ELW_GREEKS,
}
# The key of each table's rows where it is more than the date and the column after it.
KEYS: dict[str, tuple[str, ...]] = {"member_flows": ("date", "symbol", "member")}
