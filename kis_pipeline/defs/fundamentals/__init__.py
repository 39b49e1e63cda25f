"""The fundamentals domain: weekly financial statements and ratios, and the dividend
schedule by record year."""

from __future__ import annotations

import dagster as dg

from kis_pipeline.defs.calendar.freshness import freshness_schedule
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

checks = [
    *(statement_fresh(name) for name in ("balance_sheet", "income_statement", "financial_ratios")),
    dividends_fresh,
]
freshness_job, freshness = freshness_schedule("fundamentals", checks, cron="0 12 * * 6")

__all__ = ["balance_sheet", "defs", "dividends", "financial_ratios", "income_statement"]

defs = dg.Definitions(
    assets=[*STATEMENTS, dividends],
    asset_checks=checks,
    jobs=[fundamentals_job, dividends_job, freshness_job],
    schedules=[fundamentals_schedule, dividends_schedule, freshness],
)
