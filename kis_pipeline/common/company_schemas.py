"""Schemas of the company reference and analyst tables (SPEC §10.9, §10.11, §10.12): snapshots
stamped `as_of`, the fetch date (KST), because KIS only shows them as they stand today.

Columns are written as in `activity_schemas` (`name` Int64, `name:F` Float64, `name:S` String,
`name:D` Date, `name:B` Boolean). Money is KRW, shares are shares, rates are percent.
"""

from __future__ import annotations

import polars as pl

from kis_pipeline.common.activity_schemas import columns

# §10.9 search-stock-info: one row per symbol, delisted names included (`delisted_on`).
STOCK_INFO = columns(
    "as_of:D symbol:S name:S market:S product_kind:S security_group:S stock_kind:S "
    "listed_on:D delisted_on:D listed_shares par_value capital listed_capital issue_price "
    "sector_code:S sector:S sector_mid:S sector_small:S industry_code:S industry:S "
    "is_kospi200:B is_halted:B is_administrative:B is_nxt_tradable:B standard_code:S "
    "english_name:S close prev_close"
)

# §10.12 invest-opinion: one row per report (trading date, symbol, broker).
ANALYST_OPINIONS = columns(
    "as_of:D date:D symbol:S broker:S opinion:S opinion_code:S previous_opinion:S "
    "previous_opinion_code:S target_price prev_close nday_divergence nday_disparity_rate:F "
    "futures_divergence disparity_rate:F"
)

# §10.11 estimate-perform: one row per fiscal period (`period`, YYYYMM) of a covered symbol.
ANALYST_ESTIMATES = columns(
    "as_of:D symbol:S period:S name:S revenue revenue_growth:F operating_profit "
    "operating_profit_growth:F net_income net_income_growth:F ebitda eps:F eps_growth:F "
    "per:F ev_ebitda:F roe:F debt_ratio:F interest_coverage:F"
)

# KSD listing schedule (ksdinfo/list-info): one row per listing of shares on `date`, an IPO
# (`reason` "신규상장") or new shares of a listed name (a rights issue, a split, an option).
LISTING_EVENTS = columns(
    "date:D symbol:S name:S share_class:S reason:S shares total_shares issue_price"
)

# KSD bonus-issue schedule (ksdinfo/bonus-issue): one row per bonus issue (무상증자) of a share
# class by record date; `fix_rate` new shares per 100 old, ex-rights on `ex_date`, the new
# shares listed on `list_date`; `odd_lot_price` (KRW) pays the fractional shares; share counts
# are the shares issued before (`total_shares`) and those the issue adds (`new_shares`).
BONUS_ISSUES = columns(
    "record_date:D symbol:S share_class:S ex_date:D fix_rate:F odd_lot_price "
    "odd_lot_pay_date:D list_date:D total_shares new_shares"
)

# KSD capital-reduction schedule (ksdinfo/cap-dcrs): one row per capital reduction (자본감소)
# of a share class by record date; `kept_ratio` shares kept per old share (감자배정율, 0.1 for
# 10 to 1), trading halted over `halt_period` (as KSD writes it) and the reduced shares
# relisted on `list_date`, the first session at the new share basis.
CAPITAL_REDUCTIONS = columns(
    "record_date:D symbol:S share_class:S reduction_type:S kept_ratio:F method:S "
    "halt_period:S list_date:D"
)

# KSD rights-issue schedule (ksdinfo/paidin-capin): one row per rights issue (유상증자) of a share
# class by record date; `fix_rate` new shares per 100 old sold at `issue_price` (KRW),
# `discount_rate` % below the base price, ex-rights on `ex_date`, subscribed from
# `subscription_start` to `subscription_end`, the new shares listed on `list_date`.
RIGHTS_ISSUES = columns(
    "record_date:D symbol:S share_class:S ex_date:D fix_rate:F discount_rate:F issue_price "
    "subscription_start:D subscription_end:D list_date:D total_shares new_shares"
)

# KSD merger and split schedule (ksdinfo/merger-split): one row per event of a listed name
# (`symbol`) by record date and sequence; the absorbed (or split-off) company and the
# surviving one by KSD's codes and names, `reason` as KSD words it (흡수합병, 인적분할, ...),
# `ratio` the surviving company's shares per absorbed share, the halt as sent, the listing of
# the new shares and the share counts before and added.
MERGERS = columns(
    "record_date:D symbol:S seq absorbed_code:S absorbed_name:S company_code:S company_name:S "
    "reason:S ratio:F halt_period:S list_date:D odd_lot_pay_date:D total_shares new_shares"
)

# §7.12 psearch-result: the names a saved screening condition matched when it ran (`as_of`),
# best first (`rank`), with the quote KIS sends beside each; market_cap in KRW.
CONDITION_RESULTS = columns(
    "as_of:D condition:S rank symbol:S name:S price change change_rate:F volume value "
    "high52 low52 base_price market_cap"
)

# The market as it stood at a session's close, per listed name, built from the warehouse with no
# call: listed shares from that day's master snapshot (`shares_as_of`), market cap at the close,
# EPS and BPS of the newest annual figures published by then (`statements_as_of`, `period`)
# and PER/PBR at the close. KIS serves the foreign ratios only per symbol (§7.1, §7.4): null.
MARKET_DAILY = columns(
    "date:D symbol:S close listed_shares market_cap per:F pbr:F eps:F bps:F foreign_ratio:F "
    "foreign_limit_exhaustion:F shares_as_of:D statements_as_of:D period:S"
)

# The point-in-time universe as known on `as_of`: every name seen, listed or delisted.
LISTINGS = columns("as_of:D symbol:S name:S market:S kind:S listed_on:D delisted_on:D source:S")

# A corporate action by its ex-date: a split, a reverse split, a bonus issue, a capital
# reduction or a rights issue (`ratio`: shares after per share before; a rights issue's
# `issue_price` in KRW and `price_factor`, the theoretical ex-rights price over the cum-rights
# close, since its price basis moves by less than its share count), a merger (`ratio` the
# surviving company's shares per absorbed share, `counterparty` the absorbed company's KSD
# code), a cash dividend (`cash_per_share`, KRW, with its `record_date`). `source` names who
# reported it: `chart` (the daily chart's event flags), `ksd` (the KSD schedules).
CORPORATE_ACTIONS = columns(
    "symbol:S ex_date:D kind:S ratio:F cash_per_share record_date:D source:S issue_price "
    "price_factor:F counterparty:S"
)

# What a raw price of `date` is multiplied by to be on the share basis of `as_of`.
ADJ_FACTORS = columns("as_of:D symbol:S date:D factor:F")

# §7.2 inquire-price-2: a stock's trading status after the session (VI, halt, warnings, short-sale
# overheating, credit), with its quote and price limits.
STOCK_STATUS = columns(
    "as_of:D symbol:S market_name:S sector:S price change change_rate:F volume value open high "
    "low base_price upper_limit lower_limit vi_applied:B halted:B short_sale_overheat:B "
    "short_term_overheat:B administrative:B investment_caution:B abnormal_surge:B "
    "low_liquidity:B liquidation_trading:B unfaithful_disclosure:B credit_allowed:B "
    "credit_rate:F margin_rate:F market_warning:S market_warning_name:S"
)

COMPANY: dict[str, pl.Schema] = {
    "stock_info": STOCK_INFO,
    "stock_status": STOCK_STATUS,
    "analyst_opinions": ANALYST_OPINIONS,
    "analyst_estimates": ANALYST_ESTIMATES,
    "condition_results": CONDITION_RESULTS,
}
