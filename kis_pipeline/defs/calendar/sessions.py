"""What every Korean daily asset asks before it calls KIS: which of its days were sessions,
whether a day's data can exist yet, and which session KIS's snapshots describe.

The answers come from the warehouse (`trading_calendar`) where it covers a day; a day the
calendar does not know is "unknown" and the data itself settles it (a closed weekday has no
bar). Nothing here guesses from a holiday list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import dagster as dg

from kis_pipeline.common.clock import now_kst, today_kst
from kis_pipeline.ingest import days as ingest_days
from kis_pipeline.ingest.days import (
    DATA_READY,
    KOSPI,
    LOOKAHEAD,
    DayPlan,
    days_between,
    known_sessions,
    not_ready,
    unsettled,
)
from kis_pipeline.kis.client import KisClient
from kis_pipeline.warehouse import Warehouse

__all__ = [
    "DATA_READY",
    "KOSPI",
    "LOOKAHEAD",
    "DayPlan",
    "days_between",
    "known_sessions",
    "not_ready",
    "unsettled",
]

SETTLES_AT = "kis/settles_at"
"""Definition metadata marking a daily asset whose day can be fetched only from `DATA_READY`
(its value, shown in the UI); `kis-pipeline backfill` reads it to refuse such a day before
making any call."""
SETTLES = {SETTLES_AT: f"{DATA_READY:%H:%M}"}


def refuse_unsettled(table: str, days: Iterable[dt.date]) -> None:
    """Fail before any call if a day's figures could still be partial: the run would write
    nothing (or half a day) for it, and a successful run is recorded as having materialized
    every one of its partitions."""
    now = now_kst()
    early = not_ready(days, now)
    if early:
        raise dg.Failure(f"{table}: {unsettled(early[-1], now)}; nothing was written")


def plan_days(
    warehouse: Warehouse, days: Sequence[dt.date], *, table: str, after_close: bool = True
) -> DayPlan:
    """Weekends and days the calendar marks closed are closed; the rest must be fetched.

    With `after_close`, a day whose session has not settled fails the run (`refuse_unsettled`).
    """
    ordered = sorted(days)
    if after_close:
        refuse_unsettled(table, ordered)
    return ingest_days.split_closed(warehouse, ordered)


def resolve_days(
    plan: DayPlan, present: set[dt.date], newest: dt.date | None, *, what: str
) -> dict[dt.date, bool]:
    """Which of the plan's days were sessions, given the days the data has rows for.

    A fetched day without rows was closed when the data already goes past it or the calendar
    says so; otherwise KIS has not published it yet, and guessing "closed" would record a
    holiday that never was, so that is an error worth a rerun.
    """
    status: dict[dt.date, bool] = {}
    pending = []
    for day in plan.days:
        if day in present:
            status[day] = True
        elif day in plan.closed or (newest is not None and day < newest):
            status[day] = False
        else:
            pending.append(day)
    if pending:
        listed = ", ".join(d.isoformat() for d in pending)
        raise dg.Failure(
            f"{what}: KIS has no data for {listed} yet and the trading calendar does not say "
            "the market was closed; rerun once KIS has published the day"
        )
    return status


def newest_session(client: KisClient, day: dt.date) -> dt.date | None:
    """The newest session KIS has a KOSPI bar for, looking up to two weeks past `day` (one
    call; see `ingest.days.newest_session`)."""
    return ingest_days.newest_session(client, day, today_kst())
