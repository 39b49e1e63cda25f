"""When the collector should run: KRX trading days from 08:30 to 15:45 KST (16:45 on the day of
the college entrance exam, when the market opens and closes an hour late) for KRX's feeds, and
from 07:50 to 20:15 for Nextrade's and the combined ones.

08:30 is when the opening auction's expected executions start (H0STANC0); the regular session
closes at 15:30 after the closing auction, and the last prints of the day arrive within minutes,
hence 15:45. Nextrade trades from its 08:00 pre-market to the end of its after-market at 20:00.
Trading days come from the warehouse's `trading_calendar` table when it has the day (KIS's own
calendar), otherwise from the built-in KRX holiday list (weekends, Korean public holidays,
Labour Day, the year-end closing day; it knows 2015-2028).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from kis_pipeline.common import krx_calendar
from kis_pipeline.common.clock import KST

log = logging.getLogger(__name__)

START = dt.time(8, 30)
# How long after the close the last prints of the day may still arrive.
AFTER_CLOSE = dt.timedelta(minutes=15)
# Nextrade's day (and so the combined market's): ten minutes before its pre-market to its close.
NXT_START, NXT_CLOSE = dt.time(7, 50), dt.time(20, 0)

# day -> True/False, or None when the source does not know that day.
CalendarLookup = Callable[[dt.date], bool | None]


@dataclass(frozen=True)
class TradingCalendar:
    """Trading days from `lookup` where it knows them, the built-in list otherwise."""

    lookup: CalendarLookup | None = None
    venue: str = "KRX"  # KIS_VENUE: KRX's hours, or Nextrade's for NXT and KRX+NXT

    def is_trading_day(self, day: dt.date) -> bool:
        if self.lookup is not None:
            known = self.lookup(day)
            if known is not None:
                return known
        return krx_calendar.is_trading_day(day)

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """The collector's window on `day` (whether or not it is a trading day)."""
        start, close = START, krx_calendar.session_hours(day)[1]
        if self.venue != "KRX":
            start, close = NXT_START, NXT_CLOSE
        return (
            dt.datetime.combine(day, start, KST),
            dt.datetime.combine(day, close, KST) + AFTER_CLOSE,
        )

    def session_end(self, now: dt.datetime) -> dt.datetime | None:
        """When the collector should stop, if `now` is inside a trading day's window."""
        local = now.astimezone(KST)
        start, stop = self.window(local.date())
        if self.is_trading_day(local.date()) and start <= local < stop:
            return stop
        return None

    def next_start(self, now: dt.datetime) -> dt.datetime | None:
        """The start of the next window that has not ended yet (None if none within a year)."""
        local = now.astimezone(KST)
        day = local.date()
        for _ in range(400):
            start, stop = self.window(day)
            if self.is_trading_day(day) and local < stop:
                return max(start, local)
            day += dt.timedelta(days=1)
        return None


def warehouse_lookup(warehouse: object) -> CalendarLookup:
    """A lookup over the warehouse's `trading_calendar` table (read once, lazily)."""
    cache: dict[dt.date, bool] = {}
    loaded = False

    def lookup(day: dt.date) -> bool | None:
        nonlocal loaded
        if not loaded:
            loaded = True
            try:
                frame = warehouse.read(  # type: ignore[attr-defined]
                    "trading_calendar", partitions=[str(day.year), str(day.year + 1)]
                )
                for date, flag in frame.select("date", "is_trading_day").iter_rows():
                    if flag is not None:
                        cache[date] = bool(flag)
            except Exception as exc:  # a missing or unreadable table: use the built-in list
                log.debug("no trading_calendar in the warehouse: %s", exc)
        return cache.get(day)

    return lookup
