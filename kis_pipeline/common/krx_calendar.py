"""The KRX trading calendar as written down: weekends, Korean holidays, year-end closing.

Holiday dates for 2015-2028 are written out, because the lunar holidays (Seollal, Chuseok,
Buddha's Birthday), substitute holidays, election days and one-off temporary holidays follow
no formula. Outside that range only the fixed solar holidays apply.

The simulator lives by it, and the tick collector falls back on it for days the warehouse's
`trading_calendar` does not know yet. The batch pipeline never uses it: its calendar comes
from KIS (index bars and chk-holiday).

Definitions (the simulator's `trading_calendar` answers and `chk-holiday` follow them):
- business day: not a weekend and not a public holiday (banks open; KIS `bzdy_yn`);
- trading day: a business day that is neither Labour Day (5/1, a market holiday though not a
  public one) nor the KRX year-end closing day (the last business day of the year);
- settlement day: a trading day (the clearing house settles T+2 trades only on open days).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from kis_pipeline.common.clock import KST

SESSION_OPEN = dt.time(9, 0)
SESSION_CLOSE = dt.time(15, 30)
# The college scholastic ability test (수능): the KRX opens an hour late and closes an hour late,
# 10:00-16:30, to keep the morning traffic light for the candidates. Listed as held; the 2017
# test was put off a week by the Pohang earthquake, and the market moved with it. Dates after
# 2026 are announced a year ahead and are not known here yet.
EXAM_DAYS = frozenset(
    dt.date.fromisoformat(day)
    for day in (
        "2015-11-12",
        "2016-11-17",
        "2017-11-23",
        "2018-11-15",
        "2019-11-14",
        "2020-12-03",
        "2021-11-18",
        "2022-11-17",
        "2023-11-16",
        "2024-11-14",
        "2025-11-13",
        "2026-11-19",
    )
)
EXAM_DAY_DELAY = dt.timedelta(hours=1)
FIRST_LISTED_YEAR = 2015
LAST_LISTED_YEAR = 2028

# Solar holidays on fixed dates (month, day). 10/9 Hangul Day has been a holiday since 2013.
_FIXED: tuple[tuple[int, int], ...] = (
    (1, 1),
    (3, 1),
    (5, 5),
    (6, 6),
    (8, 15),
    (10, 3),
    (10, 9),
    (12, 25),
)

# Lunar holidays, substitute holidays, elections and temporary holidays by year.
_VARIABLE: dict[int, tuple[str, ...]] = {
    2015: (
        "02-18",
        "02-19",
        "02-20",  # Seollal
        "05-25",  # Buddha's Birthday
        "08-14",  # temporary holiday (70th Liberation anniversary)
        "09-26",
        "09-27",
        "09-28",
        "09-29",  # Chuseok + substitute
    ),
    2016: (
        "02-07",
        "02-08",
        "02-09",
        "02-10",  # Seollal + substitute
        "04-13",  # general election
        "05-06",  # temporary holiday
        "05-14",  # Buddha's Birthday
        "09-14",
        "09-15",
        "09-16",  # Chuseok
    ),
    2017: (
        "01-27",
        "01-28",
        "01-29",
        "01-30",  # Seollal + substitute
        "05-03",  # Buddha's Birthday
        "05-09",  # presidential election
        "10-02",  # temporary holiday
        "10-04",
        "10-05",
        "10-06",  # Chuseok (10-03 overlaps) + substitute
    ),
    2018: (
        "02-15",
        "02-16",
        "02-17",  # Seollal
        "05-07",  # Children's Day substitute
        "05-22",  # Buddha's Birthday
        "06-13",  # local elections
        "09-23",
        "09-24",
        "09-25",
        "09-26",  # Chuseok + substitute
    ),
    2019: (
        "02-04",
        "02-05",
        "02-06",  # Seollal
        "05-06",  # Children's Day substitute
        "05-12",  # Buddha's Birthday
        "09-12",
        "09-13",
        "09-14",  # Chuseok
    ),
    2020: (
        "01-24",
        "01-25",
        "01-26",
        "01-27",  # Seollal + substitute
        "04-15",  # general election
        "04-30",  # Buddha's Birthday
        "08-17",  # temporary holiday
        "09-30",
        "10-01",
        "10-02",  # Chuseok
    ),
    2021: (
        "02-11",
        "02-12",
        "02-13",  # Seollal
        "05-19",  # Buddha's Birthday
        "08-16",
        "10-04",
        "10-11",  # substitutes for 8/15, 10/3, 10/9
        "09-20",
        "09-21",
        "09-22",  # Chuseok
    ),
    2022: (
        "01-31",
        "02-01",
        "02-02",  # Seollal
        "03-09",  # presidential election
        "05-08",  # Buddha's Birthday
        "06-01",  # local elections
        "09-09",
        "09-10",
        "09-11",
        "09-12",  # Chuseok + substitute
        "10-10",  # Hangul Day substitute
    ),
    2023: (
        "01-21",
        "01-22",
        "01-23",
        "01-24",  # Seollal + substitute
        "05-27",
        "05-29",  # Buddha's Birthday + substitute
        "09-28",
        "09-29",
        "09-30",  # Chuseok
        "10-02",  # temporary holiday
    ),
    2024: (
        "02-09",
        "02-10",
        "02-11",
        "02-12",  # Seollal + substitute
        "04-10",  # general election
        "05-06",  # Children's Day substitute
        "05-15",  # Buddha's Birthday
        "09-16",
        "09-17",
        "09-18",  # Chuseok
        "10-01",  # Armed Forces Day (temporary holiday)
    ),
    2025: (
        "01-27",  # temporary holiday
        "01-28",
        "01-29",
        "01-30",  # Seollal
        "03-03",  # Independence Movement Day substitute
        "05-06",  # substitute (Children's Day and Buddha's Birthday both on 5/5)
        "06-03",  # presidential election
        "10-05",
        "10-06",
        "10-07",
        "10-08",  # Chuseok + substitute
    ),
    2026: (
        "02-16",
        "02-17",
        "02-18",  # Seollal
        "03-02",  # Independence Movement Day substitute
        "05-24",
        "05-25",  # Buddha's Birthday + substitute
        "06-03",  # local elections
        "08-17",  # Liberation Day substitute
        "09-24",
        "09-25",
        "09-26",  # Chuseok
        "10-05",  # National Foundation Day substitute
    ),
    2027: (
        "02-06",
        "02-07",
        "02-08",
        "02-09",  # Seollal + substitute
        "05-13",  # Buddha's Birthday
        "08-16",  # Liberation Day substitute
        "09-14",
        "09-15",
        "09-16",  # Chuseok
        "10-04",  # National Foundation Day substitute
        "10-11",  # Hangul Day substitute
        "12-27",  # Christmas substitute
    ),
    2028: (
        "01-26",
        "01-27",
        "01-28",  # Seollal
        "04-12",  # general election
        "05-02",  # Buddha's Birthday
        "10-02",
        "10-04",
        "10-05",  # Chuseok (10-03 overlaps) + substitute
    ),
}


@lru_cache(maxsize=64)
def public_holidays(year: int) -> frozenset[dt.date]:
    """Public holidays of `year` (weekend ones included); only fixed ones outside 2015-2028."""
    days = {dt.date(year, m, d) for m, d in _FIXED}
    for text in _VARIABLE.get(year, ()):
        month, day = (int(part) for part in text.split("-"))
        days.add(dt.date(year, month, day))
    return frozenset(days)


def is_weekend(day: dt.date) -> bool:
    return day.weekday() >= 5


def is_public_holiday(day: dt.date) -> bool:
    return day in public_holidays(day.year)


def is_business_day(day: dt.date) -> bool:
    return not is_weekend(day) and not is_public_holiday(day)


@lru_cache(maxsize=64)
def year_end_closing_day(year: int) -> dt.date:
    """The KRX year-end closing day: the last business day of `year` (12/31 unless a weekend)."""
    day = dt.date(year, 12, 31)
    while not is_business_day(day):
        day -= dt.timedelta(days=1)
    return day


def is_labour_day(day: dt.date) -> bool:
    return day.month == 5 and day.day == 1


def is_trading_day(day: dt.date) -> bool:
    return is_business_day(day) and not is_labour_day(day) and day != year_end_closing_day(day.year)


def is_settlement_day(day: dt.date) -> bool:
    return is_trading_day(day)


def trading_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """Trading days from `start` to `end`, both inclusive, ascending."""
    out: list[dt.date] = []
    day = start
    one = dt.timedelta(days=1)
    while day <= end:
        if is_trading_day(day):
            out.append(day)
        day += one
    return out


def previous_trading_day(day: dt.date) -> dt.date:
    """The last trading day strictly before `day`."""
    day -= dt.timedelta(days=1)
    while not is_trading_day(day):
        day -= dt.timedelta(days=1)
    return day


def next_trading_day(day: dt.date) -> dt.date:
    """The first trading day strictly after `day`."""
    day += dt.timedelta(days=1)
    while not is_trading_day(day):
        day += dt.timedelta(days=1)
    return day


def to_kst(moment: dt.datetime) -> dt.datetime:
    """A tz-aware KST datetime; a naive one is taken as already being Korean local time."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=KST)
    return moment.astimezone(KST)


def session_hours(day: dt.date) -> tuple[dt.time, dt.time]:
    """When the regular session of `day` opens and closes (KST): 09:00-15:30, an hour later on
    the day of the college entrance exam."""
    if day not in EXAM_DAYS:
        return SESSION_OPEN, SESSION_CLOSE
    shift = dt.datetime.combine(day, SESSION_OPEN) + EXAM_DAY_DELAY
    return shift.time(), (dt.datetime.combine(day, SESSION_CLOSE) + EXAM_DAY_DELAY).time()


def last_completed_session(now: dt.datetime) -> dt.date:
    """The last trading day whose regular session ended at or before `now` (15:30 KST, 16:30
    on an exam day)."""
    local = to_kst(now)
    today = local.date()
    if is_trading_day(today) and local.time() >= session_hours(today)[1]:
        return today
    return previous_trading_day(today)
