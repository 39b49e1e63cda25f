"""The universe domain: `symbols`, one master-file snapshot per trading day."""

from __future__ import annotations

import dagster as dg

from kis_pipeline.defs.calendar.freshness import freshness_check, freshness_schedule
from kis_pipeline.defs.universe.schedules import symbols_job, symbols_schedule
from kis_pipeline.defs.universe.symbols import symbols

symbols_fresh = freshness_check(
    "symbols", description="Every session of the last ten days has its universe snapshot."
)
freshness_job, freshness = freshness_schedule("universe", [symbols_fresh])

defs = dg.Definitions(
    assets=[symbols],
    asset_checks=[symbols_fresh],
    jobs=[symbols_job, freshness_job],
    schedules=[symbols_schedule, freshness],
)
