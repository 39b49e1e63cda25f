"""The rankings domain: `rankings`, captured from KIS for the latest session and derived from
`daily_prices` for earlier ones; and KIS's other ranking screens (valuation, credit, short
sales, ...), kept night by night from the first run on (`lists`)."""

from __future__ import annotations

from kis_pipeline.defs.calendar.freshness import freshness_check
from kis_pipeline.defs.rankings.assets import rankings
from kis_pipeline.defs.rankings.lists import (
    ASSETS,
    ranking_history_job,
    ranking_history_schedule,
    ranking_lists_job,
    ranking_lists_schedule,
)
from kis_pipeline.defs.rankings.schedules import rankings_job, rankings_schedule
from kis_pipeline.lib.domain import domain_definitions

defs = domain_definitions(
    "rankings",
    assets=[rankings, *ASSETS],
    checks=[
        freshness_check(
            "rankings",
            description="Every session of the last ten days due by now has its rankings.",
        )
    ],
    jobs=[rankings_job, ranking_lists_job, ranking_history_job],
    schedules=[rankings_schedule, ranking_lists_schedule, ranking_history_schedule],
)
