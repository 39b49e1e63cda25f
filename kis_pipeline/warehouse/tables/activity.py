"""Market activity tables: one row per (date, symbol) of a per-symbol daily trend (SPEC §9.6,
§9.9-§9.12), partitioned by trading day and sorted by symbol, then date, like the daily bars.
Their schemas are `common.activity_schemas`."""

from __future__ import annotations

from kis_pipeline.common.activity_schemas import ACTIVITY
from kis_pipeline.warehouse.tables.spec import TableSpec, register_table

# Every listed symbol has a row on every session, each once, and no record was refused.
GATES = ("unique_keys", "complete", "no_rejects")
DESCRIPTIONS = {
    "program_trading": "program buying and selling (shares, KRW) and the net",
    "credit_balance": "margin loans and stock loans: new, repaid and outstanding",
    "short_sales": "short-sale volume and value, and their share of the day's trading",
    "lending_balance": "securities lending: shares lent, repaid and outstanding",
    "daily_trade_volume": "the day's volume by the side that took the trade",
}

for _name, _schema in ACTIVITY.items():
    register_table(
        TableSpec(
            _name,
            _schema,
            "date",
            "date",
            ("date", "symbol"),
            ("symbol", "date"),
            f"One row per (date, symbol): {DESCRIPTIONS[_name]}.",
            gates=GATES,
        )
    )
