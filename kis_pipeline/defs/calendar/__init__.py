"""The calendar domain: `index_daily` (the bars that reveal past sessions) and
`trading_calendar` (past from the bars, weeks ahead from chk-holiday)."""

from __future__ import annotations

import dagster as dg

from kis_pipeline.defs.calendar.freshness import freshness_schedule
from kis_pipeline.defs.calendar.index_daily import index_daily, index_daily_fresh
from kis_pipeline.defs.calendar.schedules import (
    index_daily_job,
    index_daily_schedule,
    trading_calendar_job,
    trading_calendar_schedule,
)
from kis_pipeline.defs.calendar.trading_calendar import trading_calendar, trading_calendar_fresh

checks = [index_daily_fresh, trading_calendar_fresh]
freshness_job, freshness = freshness_schedule("calendar", checks)

defs = dg.Definitions(
    assets=[index_daily, trading_calendar],
    asset_checks=checks,
    jobs=[index_daily_job, trading_calendar_job, freshness_job],
    schedules=[index_daily_schedule, trading_calendar_schedule, freshness],
)
