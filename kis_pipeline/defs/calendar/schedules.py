"""When the calendar domain runs (Asia/Seoul).

- `index_daily_schedule`: 18:30 Monday to Friday, that day's partition; on a holiday the
  asset writes an empty partition without calling KIS (the calendar knows it ahead).
- `trading_calendar_schedule`: 19:30 every day, after the index bars of the day are in: the
  year of today (and next year while chk-holiday's weeks ahead reach into it). This is the
  run that makes the day's one chk-holiday call.
"""

from __future__ import annotations

import datetime as dt

from kis_pipeline.defs.calendar.index_daily import index_daily
from kis_pipeline.defs.calendar.trading_calendar import trading_calendar
from kis_pipeline.ingest.calendar_build import CHK_HOLIDAY_SPAN
from kis_pipeline.lib.schedules import asset_day_schedule, asset_job, years_schedule

index_daily_job, index_daily_schedule = asset_day_schedule(
    index_daily,
    cron="30 18 * * 1-5",
    job_description="Daily index bars of one trading day.",
    description="After the close on weekdays: that day's index bars.",
)

trading_calendar_job = asset_job(
    trading_calendar, "One year of the trading calendar; makes the day's chk-holiday call."
)


def calendar_years_for(today: dt.date) -> list[str]:
    """Today's year, and next year once chk-holiday's answer reaches into it."""
    return sorted({str(today.year), str((today + CHK_HOLIDAY_SPAN).year)})


trading_calendar_schedule = years_schedule(
    "trading_calendar_schedule",
    trading_calendar_job,
    cron="30 19 * * *",
    years=calendar_years_for,
    run_key_prefix="trading_calendar-",
    description="Every evening: fold the day's bars in and extend the weeks ahead.",
)
