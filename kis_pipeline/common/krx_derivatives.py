"""KOSPI200 futures and options: KRX's short codes and expiry calendar, shared by the pipeline
(which codes to ask for on a day) and the simulator (which codes exist).

Codes are KRX's 8-character derivative short codes (`101W9000` in the official samples):
`1` futures / `2` call / `3` put, `01` KOSPI200, one year letter, one month character
(`1`-`9`, `A` October, `B` November, `C` December), then `000` for a futures contract or the
strike's integer part for an option (`201W9340` is the September 2025 call struck at 340;
a 342.5 strike is `342`, unique because strikes are 2.5 points apart).

The year character runs through a 30-year cycle, `6789012345ABCDEFGHJKLMNPQRSTVW` (no I, O,
U, X, Y, Z), from 1996 (`6`) to 2025 (`W`), then again from `6` in 2026: the September 2025
futures is `101W9000`, the December 2026 one `1016C000` (the cycle as CQG's API documentation
gives KRX's short code; the samples show only codes of 2022-2025).

Every contract expires on the second Thursday of its month, or the trading day before it when
that Thursday is closed. Futures are quarterly (March, June, September, December); options are
monthly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kis_pipeline.common import krx_calendar as cal

_YEAR_LETTERS = "6789012345ABCDEFGHJKLMNPQRSTVW"
_FIRST_YEAR = 1996
_MONTHS = "123456789ABC"
KOSPI200 = "01"
FUTURE, CALL, PUT = "future", "call", "put"
_PREFIX = {FUTURE: "1", CALL: "2", PUT: "3"}
_KINDS = {prefix: kind for kind, prefix in _PREFIX.items()}
QUARTER_MONTHS = (3, 6, 9, 12)
STRIKE_STEP = 2.5
# Strikes each side of the at-the-money one in the nightly chain (ATM ± 2: five strikes).
STRIKES_EACH_SIDE = 2
FUTURES_MONTHS = 2


@dataclass(frozen=True, order=True)
class Contract:
    """One listed KOSPI200 derivative: its kind, expiry month and (options) strike."""

    kind: str
    year: int
    month: int
    strike: float | None = None

    @property
    def code(self) -> str:
        tail = "000" if self.strike is None else f"{int(self.strike):03d}"
        year = _YEAR_LETTERS[(self.year - _FIRST_YEAR) % len(_YEAR_LETTERS)]
        return f"{_PREFIX[self.kind]}{KOSPI200}{year}{_MONTHS[self.month - 1]}{tail}"

    @property
    def expiry_month(self) -> str:
        return f"{self.year:04d}{self.month:02d}"

    @property
    def expiry(self) -> dt.date:
        return expiry_day(self.year, self.month)


def expiry_day(year: int, month: int) -> dt.date:
    """The second Thursday of the month, or the trading day before it when it is closed."""
    first = dt.date(year, month, 1)
    day = first + dt.timedelta(days=(3 - first.weekday()) % 7 + 7)
    return day if cal.is_trading_day(day) else cal.previous_trading_day(day)


def parse_code(code: str, near: dt.date) -> Contract | None:
    """The contract of `code`, its year the one of its character nearest `near`; None if `code`
    is not a KOSPI200 futures or option code."""
    if len(code) != 8 or code[0] not in _KINDS or code[1:3] != KOSPI200:
        return None
    if code[3] not in _YEAR_LETTERS or code[4] not in _MONTHS or not code[5:].isdigit():
        return None
    kind = _KINDS[code[0]]
    cycle = len(_YEAR_LETTERS)
    offset = (_YEAR_LETTERS.index(code[3]) - (near.year - _FIRST_YEAR)) % cycle
    year = near.year + (offset if offset <= cycle // 2 else offset - cycle)
    month = _MONTHS.index(code[4]) + 1
    if kind == FUTURE:
        return Contract(kind, year, month) if code[5:] == "000" else None
    return Contract(kind, year, month, _strike_of(int(code[5:])))


def _strike_of(integer: int) -> float:
    """The strike whose integer part is `integer` (342 -> 342.5, 340 -> 340.0)."""
    return integer + 0.5 if integer % 5 in (2, 7) else float(integer)


def _months_from(day: dt.date) -> list[tuple[int, int]]:
    """The (year, month) pairs from `day`'s month on, for the next two years."""
    return [(day.year + (day.month - 1 + k) // 12, (day.month - 1 + k) % 12 + 1) for k in range(25)]


def front_futures(day: dt.date, count: int = FUTURES_MONTHS) -> list[Contract]:
    """The `count` nearest quarterly futures not yet expired on `day` (an expiry day still
    trades its contract)."""
    months = [(y, m) for y, m in _months_from(day) if m in QUARTER_MONTHS]
    live = [Contract(FUTURE, y, m) for y, m in months if expiry_day(y, m) >= day]
    return live[:count]


def front_option_month(day: dt.date) -> tuple[int, int]:
    """The nearest option month not yet expired on `day`."""
    return next((y, m) for y, m in _months_from(day) if expiry_day(y, m) >= day)


def atm_strike(level: float) -> float:
    return round(level / STRIKE_STEP) * STRIKE_STEP


def option_chain(day: dt.date, level: float, each_side: int = STRIKES_EACH_SIDE) -> list[Contract]:
    """Calls and puts of the front option month at the strikes around `level`."""
    year, month = front_option_month(day)
    middle = atm_strike(level)
    strikes = [middle + k * STRIKE_STEP for k in range(-each_side, each_side + 1)]
    return [Contract(kind, year, month, s) for s in strikes for kind in (CALL, PUT)]
