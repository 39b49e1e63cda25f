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
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl

from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.index import fetch_index_daily
from kis_pipeline.warehouse import Warehouse

KST = ZoneInfo("Asia/Seoul")
# Daily bars settle at the 15:30 close; per-stock investor flows appear from about 15:40 KST
# (SPEC §18.12). A partition of today is only fetched after this.
DATA_READY = dt.time(15, 40)
KOSPI = "0001"
# How far past a day the index chart is read to learn whether KIS has newer sessions.
LOOKAHEAD = dt.timedelta(days=14)


# The pipeline's clock. None follows the wall clock; tests pin a moment here (monkeypatch) to
# replay a given day, since every "today" of the batch assets comes from `now_kst`.
PINNED_NOW: dt.datetime | None = None


def now_kst() -> dt.datetime:
    """Now in Asia/Seoul: the wall clock, or `PINNED_NOW` when set."""
    return PINNED_NOW.astimezone(KST) if PINNED_NOW is not None else dt.datetime.now(KST)


def today_kst() -> dt.date:
    return now_kst().date()


def known_sessions(warehouse: Warehouse, start: dt.date, end: dt.date) -> dict[dt.date, bool]:
    """`is_trading_day` of the days in [start, end] that `trading_calendar` has a row for."""
    years = [str(y) for y in range(start.year, end.year + 1)]
    frame = warehouse.read("trading_calendar", years).filter(pl.col("date").is_between(start, end))
    return dict(zip(frame["date"].to_list(), frame["is_trading_day"].to_list(), strict=True))


@dataclass(frozen=True)
class DayPlan:
    """A run's days split by what is known before any call: closed days need none, and days
    whose session has not closed yet (`early`) are neither fetched nor written."""

    days: list[dt.date]
    closed: list[dt.date] = field(default_factory=list)
    to_fetch: list[dt.date] = field(default_factory=list)
    known: dict[dt.date, bool] = field(default_factory=dict)
    early: list[dt.date] = field(default_factory=list)

    @property
    def fetch_range(self) -> tuple[dt.date, dt.date] | None:
        return (self.to_fetch[0], self.to_fetch[-1]) if self.to_fetch else None


def not_ready(days: Iterable[dt.date], now: dt.datetime | None = None) -> list[dt.date]:
    """Days whose figures would still be partial: today before `DATA_READY`, or later."""
    now = now or now_kst()
    return [d for d in days if d > now.date() or (d == now.date() and now.time() < DATA_READY)]


def plan_days(
    warehouse: Warehouse, days: Sequence[dt.date], *, after_close: bool = True
) -> DayPlan:
    """Weekends and days the calendar marks closed are closed; the rest must be fetched.

    With `after_close`, a day whose session has not closed is set aside (`early`): a run that
    reaches today during the session (a backfill up to today) writes the days before it and
    leaves today to the evening run, instead of recording a half day or failing.
    """
    ordered = sorted(days)
    early = not_ready(ordered) if after_close else []
    ordered = [d for d in ordered if d not in set(early)]
    if not ordered:
        return DayPlan([], early=early)
    known = known_sessions(warehouse, ordered[0], ordered[-1])
    closed = [d for d in ordered if d.weekday() >= 5 or known.get(d) is False]
    to_fetch = [d for d in ordered if d not in set(closed)]
    return DayPlan(ordered, closed, to_fetch, known, early)


def early_note(plan: DayPlan) -> str:
    """Metadata text naming the days set aside as not closed yet (empty when none)."""
    if not plan.early:
        return ""
    listed = ", ".join(d.isoformat() for d in plan.early)
    return f"{listed}: not closed yet (ready from {DATA_READY:%H:%M} KST); left for a later run"


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
