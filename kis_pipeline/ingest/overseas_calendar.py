"""A year of `overseas_calendar`: every day, every declared exchange.

Weekends are closed on every exchange of the survey and cost no call; a weekday is one
countries-holiday call (SPEC §13.8). A past weekday already stored is kept (a session that
happened does not change), so a weekly run asks only for today onward. The year stops at the
first weekday KIS does not know yet: what is not known is not stored, never called closed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from kis_pipeline.common.overseas_exchanges import EXCHANGES
from kis_pipeline.kis import schemas
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.overseas_calendar import fetch_overseas_calendar_day


@dataclass(frozen=True)
class CalendarYear:
    frame: pl.DataFrame
    calls: int
    kept_days: int


def weekend(day: dt.date) -> pl.DataFrame:
    rows = {
        "date": [day] * len(EXCHANGES),
        "exchange": [e.code for e in EXCHANGES.values()],
        "country": [e.country for e in EXCHANGES.values()],
        "is_open": [False] * len(EXCHANGES),
        "local_settlement_date": [None] * len(EXCHANGES),
        "domestic_settlement_date": [None] * len(EXCHANGES),
    }
    return pl.DataFrame(rows, schema=schemas.OVERSEAS_CALENDAR)


def calendar_year(
    client: KisClient, year: int, stored: pl.DataFrame, today: dt.date
) -> CalendarYear:
    """The days of `year` known so far (`schemas.OVERSEAS_CALENDAR`), sorted by date and
    exchange; `stored` is the year as the warehouse holds it."""
    kept = stored.filter(pl.col("date") < today).select(schemas.OVERSEAS_CALENDAR.names())
    kept_days = set(kept["date"].to_list())
    frames = [kept]
    # Weekends wait for the next known weekday: none is stored past what KIS knows.
    weekends: list[pl.DataFrame] = []
    calls = 0
    day = dt.date(year, 1, 1)
    while day.year == year:
        if day in kept_days:
            pass
        elif day.weekday() >= 5:
            weekends.append(weekend(day))
        else:
            answer = fetch_overseas_calendar_day(client, day)
            calls += 1
            if answer is None:
                weekends = []
                break
            frames += [*weekends, answer]
            weekends = []
        day += dt.timedelta(days=1)
    frames += weekends
    frame = pl.concat(frames, how="vertical").sort("date", "exchange")
    return CalendarYear(frame, calls, len(kept_days))
