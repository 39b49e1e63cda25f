"""The partition schemes every domain shares, so assets and schedules cannot disagree.

Korean daily assets use KRX weekdays in Asia/Seoul; a weekday that turns out to be a market
holiday is materialized as an empty partition without API calls (the calendar says so).
Overseas prices follow their exchanges' own weekdays.
"""

from __future__ import annotations

import dagster as dg

from kis_pipeline.common.clock import KST_NAME

HISTORY_START = "2015-01-02"

# Weekday windows ending at midnight KST; end_offset=1 exposes today's partition so that the
# nightly run after the close can fill it.
trading_days = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 * * 1-5",
    start=HISTORY_START,
    fmt="%Y-%m-%d",
    timezone=KST_NAME,
    end_offset=1,
)

overseas_days = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 * * 1-5",
    start=HISTORY_START,
    fmt="%Y-%m-%d",
    timezone="UTC",
    end_offset=1,
)

weeks = dg.WeeklyPartitionsDefinition(start_date=HISTORY_START, timezone=KST_NAME, day_offset=6)

# Calendar years, for tables fetched a year at a time (KSD schedules); this year's is exposed.
years = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 1 *", start="2015", fmt="%Y", timezone=KST_NAME, end_offset=1
)
