"""Market activity tables: one row per (date, key) of a daily trend (SPEC §9.6, §9.8-§9.12),
the key a symbol or a market, partitioned by trading day and sorted by key, then date, like the
daily bars. Their schemas are `common.activity_schemas`, each leading with date and its key."""

from __future__ import annotations

from kis_pipeline.common.activity_schemas import ACTIVITY, KEYS
from kis_pipeline.warehouse.tables.spec import TableSpec, register_table

# Every listed symbol (or market) has a row on every session, each once, and no record was
# refused.
GATES = ("unique_keys", "complete", "no_rejects")
DESCRIPTIONS = {
    "program_trading": "program buying and selling (shares, KRW) and the net",
    "credit_balance": "margin loans and stock loans: new, repaid and outstanding",
    "short_sales": "short-sale volume and value, and their share of the day's trading",
    "lending_balance": "securities lending: shares lent, repaid and outstanding",
    "daily_trade_volume": "the day's volume by the side that took the trade",
    "market_program_trading": "a market's program trading, arbitrage and non-arbitrage",
    "member_flows": "one member firm's bought and sold shares of a stock",
    "etf_nav": "an ETF's close against its NAV (KRW) and KIS's premium over the NAV (%)",
    "elw_prices": "an ELW's daily bar (KRW) with its historical and implied volatility (%)",
    "elw_greeks": "an ELW's close, KIS's theoretical price (KRW) and its Greeks",
}

for _name, _schema in ACTIVITY.items():
    _keys = KEYS.get(_name, ("date", _schema.names()[1]))
    register_table(
        TableSpec(
            _name,
            _schema,
            "date",
            "date",
            _keys,
            (*_keys[1:], "date"),
            f"One row per ({', '.join(_keys)}): {DESCRIPTIONS[_name]}.",
            gates=GATES,
        )
    )
