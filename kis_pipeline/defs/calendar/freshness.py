"""Freshness as the warehouse sees it: are the recent sessions' partitions there?

Dagster's freshness policies say when an asset last materialized; these checks say whether
the data users query is current, naming the sessions that are missing. A session counts as
due once the evening runs should have finished (`DUE`), and the sessions come from
`trading_calendar`, so holidays are never reported. A domain assembled by
`lib.domain.domain_definitions` runs its checks on its own `<domain>_freshness_schedule`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import dagster as dg

from kis_pipeline.common.clock import KST_NAME, now_kst
from kis_pipeline.defs.calendar.sessions import known_sessions
from kis_pipeline.defs.clock_checks import clock_check
from kis_pipeline.lib.domain import FRESHNESS_CRON
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.warehouse import Warehouse

# The nightly runs start at 18:30 KST; by 21:00 the day's partitions should be in.
DUE = dt.time(21, 0)
LOOKBACK = dt.timedelta(days=10)
# Dagster's view of the same deadline, for the assets of the evening runs: materialized
# between the 18:30 run and 21:00 on weekdays.
NIGHTLY_FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron=FRESHNESS_CRON, lower_bound_delta=dt.timedelta(hours=3), timezone=KST_NAME
)


def due_sessions(warehouse: Warehouse, now: dt.datetime) -> list[dt.date]:
    """Sessions of the last ten days whose data should be in the warehouse by `now`."""
    today = now.date()
    known = known_sessions(warehouse, today - LOOKBACK, today)
    return sorted(
        day for day, is_open in known.items() if is_open and (day < today or now.time() >= DUE)
    )


def missing_sessions(warehouse: Warehouse, table: str, now: dt.datetime) -> list[dt.date]:
    present = set(warehouse.partitions(table))
    return [day for day in due_sessions(warehouse, now) if day.isoformat() not in present]


def daily_freshness(table: str, warehouse: Warehouse) -> dg.AssetCheckResult:
    now = now_kst()
    due = due_sessions(warehouse, now)
    missing = missing_sessions(warehouse, table, now)
    return dg.AssetCheckResult(
        passed=bool(due) and not missing,
        metadata=check_metadata(
            [d.isoformat() for d in missing],
            sessions_due=len(due),
            note="" if due else "trading_calendar does not cover the last ten days",
        ),
    )


def freshness_check(
    table: str, *, description: str, unless: Callable[[], str] | None = None
) -> dg.AssetChecksDefinition:
    """`<table>_fresh`: every due session of the last ten days has its partition; passed with
    the reason when `unless` gives one (a table whose runs skip by design: no list to keep)."""

    def judge(warehouse: Warehouse) -> dg.AssetCheckResult:
        reason = unless() if unless is not None else ""
        if reason:
            return dg.AssetCheckResult(passed=True, metadata={"skipped": reason})
        return daily_freshness(table, warehouse)

    return clock_check(asset=table, name=f"{table}_fresh", description=description)(judge)
