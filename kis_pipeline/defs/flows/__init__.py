"""The flows domain: `investor_flows` (per stock) and `market_investor_flows` (per market)."""

from __future__ import annotations

import dagster as dg

from kis_pipeline.defs.calendar.freshness import freshness_check, freshness_schedule
from kis_pipeline.defs.flows.assets import investor_flows, market_investor_flows
from kis_pipeline.defs.flows.schedules import flows_job, flows_schedule

checks = [
    freshness_check(
        "investor_flows",
        description="Every session of the last ten days due by now has its flows.",
    ),
    freshness_check(
        "market_investor_flows",
        description="Every session of the last ten days due by now has its market flows.",
    ),
]
freshness_job, freshness = freshness_schedule("flows", checks)

defs = dg.Definitions(
    assets=[investor_flows, market_investor_flows],
    asset_checks=checks,
    jobs=[flows_job, freshness_job],
    schedules=[flows_schedule, freshness],
)
