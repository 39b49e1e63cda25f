"""The simulator's overseas exchange holidays: a few per country, the same every year.

A holiday that falls on a weekend is not moved to a weekday (no "observed" days), and the
moving feasts are left out except US Thanksgiving: enough to tell a closed weekday from a
missing bar, not a faithful calendar. Shanghai and Shenzhen share China's; Ho Chi Minh and
Hanoi share Vietnam's; the three US exchanges share New York's.
"""

from __future__ import annotations

import datetime as dt

FIXED: dict[str, frozenset[tuple[int, int]]] = {
    "US": frozenset({(1, 1), (12, 25)}),
    "HK": frozenset({(1, 1), (5, 1), (12, 25), (12, 26)}),
    "JP": frozenset({(1, 1), (1, 2), (1, 3), (12, 31)}),
    # National Day golden week.
    "CN": frozenset({(1, 1), (5, 1), *((10, d) for d in range(1, 8))}),
    # Reunification Day, Labour Day, National Day.
    "VN": frozenset({(1, 1), (4, 30), (5, 1), (9, 2)}),
}


def _thanksgiving(year: int) -> dt.date:
    """The fourth Thursday of November."""
    first = dt.date(year, 11, 1)
    return first + dt.timedelta(days=(3 - first.weekday()) % 7 + 21)


def is_holiday(country: str, day: dt.date) -> bool:
    if (day.month, day.day) in FIXED.get(country, frozenset()):
        return True
    return country == "US" and day == _thanksgiving(day.year)


def is_open(country: str, day: dt.date) -> bool:
    """A weekday that is not one of the country's holidays."""
    return day.weekday() < 5 and not is_holiday(country, day)
