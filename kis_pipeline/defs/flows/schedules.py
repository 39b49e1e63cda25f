"""`flows_schedule`: 18:40 KST Monday to Friday, the range [previous session, that day].

Per-stock flows of day D settle on D+1 (SPEC §18.12), so each night's run also rewrites the
previous session, at no extra call (one call per symbol covers 30 sessions). The previous
session comes from `trading_calendar`; without it, the previous weekday is used. On a closed
day only that day is requested, and the asset writes it empty without calling KIS.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from kis_pipeline.common.clock import KST_NAME
from kis_pipeline.defs.calendar.sessions import known_sessions
from kis_pipeline.defs.flows.assets import investor_flows, market_investor_flows
from kis_pipeline.defs.resources import WarehouseResource
from kis_pipeline.lib.schedules import scheduled_day
from kis_pipeline.warehouse import Warehouse

LOOKBACK = dt.timedelta(days=14)

flows_job = dg.define_asset_job(
    "flows_job",
    selection=dg.AssetSelection.assets(investor_flows, market_investor_flows),
    description="Investor flows of the day and the day before (settled on D+1).",
)


def nightly_range(warehouse: Warehouse, day: dt.date) -> tuple[dt.date, dt.date]:
    """[previous session, day], or [day, day] when the calendar says `day` was closed."""
    known = known_sessions(warehouse, day - LOOKBACK, day)
    if known.get(day) is False:
        return day, day
    before = [d for d, is_open in known.items() if is_open and d < day]
    if before:
        return max(before), day
    previous = day - dt.timedelta(days=1)
    while previous.weekday() >= 5:
        previous -= dt.timedelta(days=1)
    return previous, day


def range_request(job: str, start: dt.date, end: dt.date) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=f"{job}-{start}-{end}",
        tags={
            ASSET_PARTITION_RANGE_START_TAG: start.isoformat(),
            ASSET_PARTITION_RANGE_END_TAG: end.isoformat(),
        },
    )


@dg.schedule(
    job=flows_job,
    cron_schedule="40 18 * * 1-5",
    execution_timezone=KST_NAME,
    description="After the close on weekdays: flows of the day, and the day before again.",
)
def flows_schedule(
    context: dg.ScheduleEvaluationContext, warehouse: WarehouseResource
) -> dg.RunRequest:
    start, end = nightly_range(warehouse.warehouse(), scheduled_day(context))
    return range_request("flows", start, end)
