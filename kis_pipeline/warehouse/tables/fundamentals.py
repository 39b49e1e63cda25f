"""Company fundamentals: financial statements by fetch date (`as_of`), with views of the newest
figures, and the dividend schedule by record date."""

from __future__ import annotations

import polars as pl

from kis_pipeline.common import schemas
from kis_pipeline.warehouse.tables.spec import TableSpec, ViewSpec, register_table, register_view


def _statement(name: str, schema: pl.Schema, what: str) -> TableSpec:
    """A statement table: the figures of each period as fetched on `as_of`."""
    return register_table(
        TableSpec(
            name,
            schema,
            "date",
            "as_of",
            ("as_of", "symbol", "period", "period_type"),
            ("symbol", "period", "as_of"),
            f"One row per (as_of, symbol, period, period_type): {what}.",
        )
    )


_statement("balance_sheet", schemas.BALANCE_SHEET, "balance-sheet items in KRW")
_statement("income_statement", schemas.INCOME_STATEMENT, "income items in KRW (quarters YTD)")
_statement("financial_ratios", schemas.FINANCIAL_RATIOS, "growth and per-share ratios")
_statement("profit_ratios", schemas.PROFIT_RATIOS, "profitability ratios (%)")
_statement("other_ratios", schemas.OTHER_RATIOS, "EVA and EBITDA (KRW), EV/EBITDA")
_statement("stability_ratios", schemas.STABILITY_RATIOS, "stability ratios (%)")
_statement("growth_ratios", schemas.GROWTH_RATIOS, "growth against a year before (%)")

register_table(
    TableSpec(
        "dividends",
        schemas.DIVIDENDS,
        "year",
        "record_date",
        ("symbol", "record_date", "dividend_kind", "share_class"),
        ("symbol", "record_date"),
        "One row per (symbol, record_date, dividend_kind, share_class): the KSD dividend schedule.",
    )
)

# Views that keep only the newest figures per (symbol, period, period_type).
LATEST_VIEWS = {
    f"{name}_latest": name
    for name in (
        "balance_sheet",
        "income_statement",
        "financial_ratios",
        "profit_ratios",
        "other_ratios",
        "stability_ratios",
        "growth_ratios",
    )
}
for _view, _base in LATEST_VIEWS.items():
    register_view(
        ViewSpec(
            _view,
            _base,
            "SELECT * EXCLUDE (_newest) FROM (SELECT *, row_number() OVER (PARTITION BY symbol, "
            f'period, period_type ORDER BY as_of DESC) AS _newest FROM "{_base}") '
            "WHERE _newest = 1",
        )
    )
