"""The calendar domain: `index_daily` (the bars that reveal past sessions),
`trading_calendar` (past from the bars, weeks ahead from chk-holiday) and `overseas_calendar`
(the overseas exchanges' days, countries-holiday)."""

from __future__ import annotations

from kis_pipeline.defs.calendar.index_daily import index_daily, index_daily_fresh
from kis_pipeline.defs.calendar.overseas_calendar import (
    overseas_calendar,
    overseas_calendar_job,
    overseas_calendar_schedule,
)
from kis_pipeline.defs.calendar.schedules import (
    index_daily_job,
    index_daily_schedule,
    trading_calendar_job,
    trading_calendar_schedule,
)
from kis_pipeline.defs.calendar.trading_calendar import trading_calendar, trading_calendar_fresh
from kis_pipeline.lib.domain import domain_definitions

defs = domain_definitions(
    "calendar",
    assets=[index_daily, trading_calendar, overseas_calendar],
    checks=[index_daily_fresh, trading_calendar_fresh],
    jobs=[index_daily_job, trading_calendar_job, overseas_calendar_job],
    schedules=[index_daily_schedule, trading_calendar_schedule, overseas_calendar_schedule],
)
