"""The flows domain: `investor_flows` (per stock) and `market_investor_flows` (per market)."""

from __future__ import annotations

from kis_pipeline.defs.calendar.freshness import freshness_check
from kis_pipeline.defs.flows.assets import investor_flows, market_investor_flows
from kis_pipeline.defs.flows.schedules import flows_job, flows_schedule
from kis_pipeline.lib.domain import domain_definitions

defs = domain_definitions(
    "flows",
    assets=[investor_flows, market_investor_flows],
    checks=[
        freshness_check(
            "investor_flows",
            description="Every session of the last ten days due by now has its flows.",
        ),
        freshness_check(
            "market_investor_flows",
            description="Every session of the last ten days due by now has its market flows.",
        ),
    ],
    jobs=[flows_job],
    schedules=[flows_schedule],
)
