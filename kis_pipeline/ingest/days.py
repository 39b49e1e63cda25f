"""Which of a run's days need a call: sessions the warehouse's `trading_calendar` knows, days
whose figures can exist yet, and the newest session KIS has a KOSPI bar for.

The caller hands in the clock (`now`, `today`), so nothing here reads it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import polars as pl

from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.index import fetch_index_daily
from kis_pipeline.warehouse import Warehouse

# Daily bars settle at the 15:30 close; per-stock investor flows appear from about 15:40 KST
# (SPEC §18.12). A partition of today is only fetched after this.
DATA_READY = dt.time(15, 40)
KOSPI = "0001"
# How far past a day the index chart is read to learn whether KIS has newer sessions.
LOOKAHEAD = dt.timedelta(days=14)


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def not_ready(days: Iterable[dt.date], now: dt.datetime) -> list[dt.date]:
    """Days whose figures would still be partial: today before `DATA_READY`, or later."""
    return [d for d in days if d > now.date() or (d == now.date() and now.time() < DATA_READY)]


def unsettled(day: dt.date, now: dt.datetime) -> str:
    """One line saying that `day` cannot be fetched yet, and from when it can."""
    when = f"{DATA_READY:%H:%M} KST" if day == now.date() else f"{day} {DATA_READY:%H:%M} KST"
    return f"the {day} session has not settled yet: it can be fetched from {when}"


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


def split_closed(warehouse: Warehouse, days: Sequence[dt.date]) -> DayPlan:
    """Weekends and days the calendar marks closed are closed; the rest must be fetched."""
    ordered = sorted(days)
    if not ordered:
        return DayPlan([])
    known = known_sessions(warehouse, ordered[0], ordered[-1])
    closed = [d for d in ordered if d.weekday() >= 5 or known.get(d) is False]
    to_fetch = [d for d in ordered if d not in set(closed)]
    return DayPlan(ordered, closed, to_fetch, known)


def newest_session(client: KisClient, day: dt.date, today: dt.date) -> dt.date | None:
    """The newest session KIS has a KOSPI bar for, looking up to two weeks past `day`.

    Snapshot endpoints (rankings, master files) describe this session, so it tells whether a
    partition is "the latest" without trusting the local clock. One call.
    """
    end = max(day, min(day + LOOKAHEAD, today))
    bars = fetch_index_daily(client, KOSPI, day - LOOKAHEAD, end)
    return bars["date"].max() if bars.height else None  # type: ignore[return-value]
