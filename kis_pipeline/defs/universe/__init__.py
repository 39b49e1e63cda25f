"""The universe domain: `symbols`, one master-file snapshot per trading day."""

from __future__ import annotations

from kis_pipeline.defs.calendar.freshness import freshness_check
from kis_pipeline.defs.universe.schedules import symbols_job, symbols_schedule
from kis_pipeline.defs.universe.symbols import symbols
from kis_pipeline.lib.domain import domain_definitions

defs = domain_definitions(
    "universe",
    assets=[symbols],
    checks=[
        freshness_check(
            "symbols",
            description="Every session of the last ten days has its universe snapshot.",
        )
    ],
    jobs=[symbols_job],
    schedules=[symbols_schedule],
)
