"""The universe domain: `symbols`, one master-file snapshot per trading day; `listing_events`
and `listings`, the point-in-time universe with the names delisted since; `condition_results`,
the history of a saved screening condition."""

from __future__ import annotations

from kis_pipeline.defs.calendar.freshness import freshness_check
from kis_pipeline.defs.universe.conditions import (
    condition_results,
    condition_results_job,
    condition_results_schedule,
)
from kis_pipeline.defs.universe.listings import (
    listing_events,
    listing_events_job,
    listing_events_schedule,
    listings,
    listings_job,
    listings_schedule,
)
from kis_pipeline.defs.universe.schedules import symbols_job, symbols_schedule
from kis_pipeline.defs.universe.symbols import symbols
from kis_pipeline.lib.domain import domain_definitions

defs = domain_definitions(
    "universe",
    assets=[symbols, listing_events, listings, condition_results],
    checks=[
        freshness_check(
            "symbols",
            description="Every session of the last ten days has its universe snapshot.",
        )
    ],
    jobs=[symbols_job, listing_events_job, listings_job, condition_results_job],
    schedules=[
        symbols_schedule,
        listing_events_schedule,
        listings_schedule,
        condition_results_schedule,
    ],
)
