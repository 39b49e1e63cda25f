"""What every Korean daily asset asks before it calls KIS: which of its days were sessions,
whether a day's data can exist yet, and which session KIS's snapshots describe.

The answers come from the warehouse (`trading_calendar`) where it covers a day; a day the
calendar does not know is "unknown" and the data itself settles it (a closed weekday has no
bar). Nothing here guesses from a holiday list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import dagster as dg
import polars as pl

from kis_pipeline.common.clock import now_kst, today_kst
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.index import fetch_index_daily
from kis_pipeline.warehouse import Warehouse

# Daily bars settle at the 15:30 close; per-stock investor flows appear from about 15:40 KST
# (SPEC §18.12). A partition of today is only fetched after this.
DATA_READY = dt.time(15, 40)
SETTLES_AT = "kis/settles_at"
"""Definition metadata marking a daily asset whose day can be fetched only from `DATA_READY`
(its value, shown in the UI); `kis-pipeline backfill` reads it to refuse such a day before
making any call."""
SETTLES = {SETTLES_AT: f"{DATA_READY:%H:%M}"}
KOSPI = "0001"
# How far past a day the index chart is read to learn whether KIS has newer sessions.
LOOKAHEAD = dt.timedelta(days=14)


def known_sessions(warehouse: Warehouse, start: dt.date, end: dt.date) -> dict[dt.date, bool]:
    """`is_trading_day` of the days in [start, end] that `trading_calendar` has a row for."""
    years = [str(y) for y in range(start.year, end.year + 1)]
    frame = warehouse.read("trading_calendar", years).filter(pl.col("date").is_between(start, end))
    return dict(zip(frame["date"].to_list(), frame["is_trading_day"].to_list(), strict=True))


@dataclass(frozen=True)
class DayPlan:
    """A run's days split by what is known before any call: closed days need none."""

    days: list[dt.date]
    closed: list[dt.date] = field(default_factory=list)
    to_fetch: list[dt.date] = field(default_factory=list)
    known: dict[dt.date, bool] = field(default_factory=dict)

    @property
    def fetch_range(self) -> tuple[dt.date, dt.date] | None:
        return (self.to_fetch[0], self.to_fetch[-1]) if self.to_fetch else None


def not_ready(days: Iterable[dt.date], now: dt.datetime | None = None) -> list[dt.date]:
    """Days whose figures would still be partial: today before `DATA_READY`, or later."""
    now = now or now_kst()
    return [d for d in days if d > now.date() or (d == now.date() and now.time() < DATA_READY)]


def unsettled(day: dt.date, now: dt.datetime) -> str:
    """One line saying that `day` cannot be fetched yet, and from when it can."""
    when = f"{DATA_READY:%H:%M} KST" if day == now.date() else f"{day} {DATA_READY:%H:%M} KST"
    return f"the {day} session has not settled yet: it can be fetched from {when}"


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
    if not ordered:
        return DayPlan([])
    known = known_sessions(warehouse, ordered[0], ordered[-1])
    closed = [d for d in ordered if d.weekday() >= 5 or known.get(d) is False]
    to_fetch = [d for d in ordered if d not in set(closed)]
    return DayPlan(ordered, closed, to_fetch, known)


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
    """The newest session KIS has a KOSPI bar for, looking up to two weeks past `day`.

    Snapshot endpoints (rankings, master files) describe this session, so it tells whether a
    partition is "the latest" without trusting the local clock. One call.
    """
    end = max(day, min(day + LOOKAHEAD, today_kst()))
    bars = fetch_index_daily(client, KOSPI, day - LOOKAHEAD, end)
    return bars["date"].max() if bars.height else None  # type: ignore[return-value]


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
