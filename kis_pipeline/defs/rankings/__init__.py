"""The rankings domain: `rankings`, captured from KIS for the latest session and derived from
`daily_prices` for earlier ones."""

from __future__ import annotations

import dagster as dg

from kis_pipeline.defs.calendar.freshness import freshness_check, freshness_schedule
from kis_pipeline.defs.rankings.assets import rankings
from kis_pipeline.defs.rankings.schedules import rankings_job, rankings_schedule

rankings_fresh = freshness_check(
    "rankings", description="Every session of the last ten days due by now has its rankings."
)
freshness_job, freshness = freshness_schedule("rankings", [rankings_fresh])

defs = dg.Definitions(
    assets=[rankings],
    asset_checks=[rankings_fresh],
    jobs=[rankings_job, freshness_job],
    schedules=[rankings_schedule, freshness],
)
