"""What the bars say about past days: which weekdays were sessions, and the newest session.

The calendar's past is the data itself: a weekday with a KOSPI bar was a session, a weekday
without one was closed once KIS has a later bar. The evidence comes first from `index_daily`
partitions already in the warehouse; a weekday the calendar must cover that no partition
holds (a hole between two backfilled ranges, the days between the last backfilled day and
chk-holiday's first) is read from the KOSPI chart directly, one paged call per hole range,
so the calendar never has a gap it could have filled. Plain Python: no Dagster here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from kis_pipeline.ingest.calendar_build import CHK_HOLIDAY_SPAN, chk_holiday_base
from kis_pipeline.ingest.days import KOSPI, LOOKAHEAD, days_between, not_ready
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.index import fetch_index_daily
from kis_pipeline.warehouse import Warehouse

# How far back the newest session is looked for among the warehouse's index partitions.
RECENT = dt.timedelta(days=31)


@dataclass
class Evidence:
    """Weekday -> whether KOSPI traded, and the newest session any source showed."""

    days: dict[dt.date, bool] = field(default_factory=dict)
    newest: dt.date | None = None

    def add(self, days: dict[dt.date, bool]) -> None:
        self.days.update(days)
        sessions = [d for d, is_open in days.items() if is_open]
        if sessions:
            self.newest = max(self.newest or sessions[0], *sessions)

    def unknown(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """Weekdays in [start, end] that no source has spoken about."""
        return [d for d in days_between(start, end) if d.weekday() < 5 and d not in self.days]


def from_warehouse(warehouse: Warehouse, start: dt.date, end: dt.date) -> Evidence:
    """Weekdays in [start, end] with an `index_daily` partition -> whether it has a KOSPI bar."""
    keys = [
        key
        for key in warehouse.partitions("index_daily")
        if start.isoformat() <= key <= end.isoformat()
    ]
    evidence = Evidence()
    if keys:
        kospi = warehouse.read("index_daily", keys).filter(pl.col("index_code") == KOSPI)
        sessions = set(kospi["date"].to_list())
        evidence.add({(d := dt.date.fromisoformat(k)): d in sessions for k in keys})
    return evidence


def kospi_rejects(client: KisClient) -> tuple[set[dt.date], int]:
    """Days whose KOSPI bar the client refused (KIS sent one: a session), and how many such
    bars had no readable date."""
    rejected = [r for r in client.rejects.records(table="index_daily") if r.symbol == KOSPI]
    return {r.date for r in rejected if r.date is not None}, sum(r.date is None for r in rejected)


def read_chart(
    client: KisClient, days: list[dt.date], today: dt.date
) -> tuple[dict[dt.date, bool], dt.date | None]:
    """Read the KOSPI chart over `days` (and two weeks past them, up to today).

    Returns what it settles: a day with a bar was a session; a day without one was closed if
    KIS has a later bar. Days past KIS's newest bar stay unknown (not published yet, or the
    backend's clock is behind ours), never guessed closed; so does every day without a bar
    when a refused bar's date could not be read (it may have been any of them).
    """
    end = max(days[-1], min(days[-1] + LOOKAHEAD, today))
    bars = fetch_index_daily(client, KOSPI, days[0], end)
    refused, undated = kospi_rejects(client)
    sessions = set(bars["date"].to_list()) | refused
    newest = max(sessions) if sessions else None
    settled = {
        d: d in sessions for d in days if d in sessions or (newest and d < newest and not undated)
    }
    return settled, newest


def newest_known_session(
    evidence: Evidence, warehouse: Warehouse, client: KisClient, now: dt.datetime
) -> dt.date | None:
    """KIS's newest session, asking KIS only when the warehouse leaves a weekday after its own
    newest session unknown (today counts only once its data is ready)."""
    today = now.date()
    recent = from_warehouse(warehouse, today - RECENT, today)
    evidence.add(recent.days)
    after = (recent.newest or today - RECENT) + dt.timedelta(days=1)
    unknown = [d for d in evidence.unknown(after, today) if not not_ready([d], now)]
    if unknown:
        settled, newest = read_chart(client, unknown, today)
        evidence.add(settled)
        if newest is not None:
            evidence.newest = max(evidence.newest or newest, newest)
    return evidence.newest


def fill_holes(
    evidence: Evidence, client: KisClient, start: dt.date, end: dt.date, today: dt.date
) -> list[dt.date]:
    """Settle the weekdays of [start, end] no partition covers from the chart; returns the
    days it settled."""
    holes = evidence.unknown(start, end)
    if not holes:
        return []
    settled, _ = read_chart(client, holes, today)
    evidence.add(settled)
    return sorted(settled)


def year_evidence(
    wh: Warehouse, client: KisClient, year: int, now: dt.datetime, *, ahead: bool
) -> tuple[dict[dt.date, bool], dt.date, list[dt.date]]:
    """The bars' word on `year`'s weekdays, chk-holiday's base date, and the days read from
    the chart to close holes.

    The past must reach chk-holiday's first day with no hole, whatever the wall clock says:
    the base is the day after KIS's newest session (never after today), and every weekday
    from the year's first known day up to the base is settled by a partition or the chart.
    """
    today = now.date()
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    evidence = from_warehouse(wh, first, last)
    base = today
    if ahead and year >= (today - RECENT).year:
        newest = newest_known_session(evidence, wh, client, now)
        base = chk_holiday_base(newest, today)
    in_year = {d: v for d, v in evidence.days.items() if first <= d <= last}
    needs_chk = ahead and year in (base.year, (base + CHK_HOLIDAY_SPAN).year)
    if in_year:
        lo = min(in_year)
    elif needs_chk:
        lo = max(base, first)
    else:
        return {}, base, []
    hi = min(base - dt.timedelta(days=1), last) if needs_chk else max(in_year)
    filled = fill_holes(evidence, client, lo, hi, today) if lo <= hi else []
    in_year = {d: v for d, v in evidence.days.items() if first <= d <= last}
    return in_year, base, filled
