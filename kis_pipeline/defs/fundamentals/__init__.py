"""The fundamentals domain: weekly financial statements and ratios, and the dividend
schedule by record year."""

from __future__ import annotations

from kis_pipeline.defs.fundamentals.dividends import dividends, dividends_fresh
from kis_pipeline.defs.fundamentals.schedules import (
    dividends_job,
    dividends_schedule,
    fundamentals_job,
    fundamentals_schedule,
)
from kis_pipeline.defs.fundamentals.statements import (
    STATEMENTS,
    balance_sheet,
    financial_ratios,
    income_statement,
    statement_fresh,
)
from kis_pipeline.lib.domain import domain_definitions

__all__ = ["balance_sheet", "defs", "dividends", "financial_ratios", "income_statement"]

defs = domain_definitions(
    "fundamentals",
    assets=[*STATEMENTS, dividends],
    checks=[
        *(statement_fresh(asset.key.path[-1]) for asset in STATEMENTS),
        dividends_fresh,
    ],
    jobs=[fundamentals_job, dividends_job],
    schedules=[fundamentals_schedule, dividends_schedule],
    freshness_cron="0 12 * * 6",
    freshness_when="Saturdays after the weekly refreshes",
)
