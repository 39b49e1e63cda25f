"""The simulator's exchange-listed bonds: a few Korean treasury bonds (국고채) whose clean
prices follow a deterministic yield path, priced with the bond formula.

Each bond's yield walks from a starting level by seeded daily steps (in basis points), one step
per KRX session, so every call and every process sees the same path. Prices are what KIS sends
for listed bonds: KRW per 10,000 KRW face, clean (without accrued interest), from the yield
compounded semiannually as Korean treasuries pay coupons. Each bond's terms (issue and
maturity, coupon, amount outstanding) are what the issue-info endpoint describes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

FACE = 10_000.0
COUPONS_PER_YEAR = 2
# One session's yield step, basis points (a calm day in Korean treasuries).
DAILY_STEP_BP = 2.5


@dataclass(frozen=True)
class Bond:
    """A listed bond: its code (ISIN), name, coupon (percent a year), maturity, the yield
    (percent) its walk starts from, its issue day and the face amount outstanding (KRW)."""

    code: str
    name: str
    coupon: float
    maturity: dt.date
    start_yield: float
    issued: dt.date
    outstanding: int

    @property
    def english_name(self) -> str:
        # 국고02750-2706(24-3): KTB, coupon in basis points of a percent, maturity YYMM.
        return f"KTB{self.name[2:7]}-{self.name[8:12]}"


TREASURIES: tuple[Bond, ...] = (
    Bond(
        "KR103502GE97",
        "국고02750-2706(24-3)",
        2.75,
        dt.date(2027, 6, 10),
        2.90,
        dt.date(2024, 6, 10),
        21_480_000_000_000,
    ),
    Bond(
        "KR103502GD98",
        "국고03000-3312(23-11)",
        3.00,
        dt.date(2033, 12, 10),
        3.10,
        dt.date(2023, 12, 10),
        16_920_000_000_000,
    ),
    Bond(
        "KR103501GE64",
        "국고03125-5403(24-2)",
        3.125,
        dt.date(2054, 3, 10),
        3.05,
        dt.date(2024, 3, 10),
        13_750_000_000_000,
    ),
)


def yield_path(seed: int, bond: Bond, sessions: Sequence[dt.date]) -> dict[dt.date, float]:
    """The bond's yield (percent) at each session's close, a seeded walk from `start_yield`."""
    digest = hashlib.sha256(f"{seed}:bond:{bond.code}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "big"))
    steps = rng.normal(0.0, DAILY_STEP_BP / 100.0, len(sessions))
    levels = np.maximum(bond.start_yield + np.cumsum(steps), 0.05)
    return dict(zip(sessions, (float(v) for v in levels), strict=True))


def _coupon_dates(bond: Bond, day: dt.date) -> list[dt.date]:
    """The coupon dates after `day` up to maturity, every six months back from maturity."""
    dates: list[dt.date] = []
    current = bond.maturity
    months = 12 // COUPONS_PER_YEAR
    while current > day:
        dates.append(current)
        month = current.month - months
        year = current.year + (month - 1) // 12
        current = dt.date(year, (month - 1) % 12 + 1, min(current.day, 28))
    dates.reverse()
    return dates


def clean_price(bond: Bond, day: dt.date, yield_pct: float) -> float:
    """Price per 10,000 face on `day` at `yield_pct`, without accrued interest."""
    if day >= bond.maturity:
        return FACE
    remaining = _coupon_dates(bond, day)
    coupon = FACE * bond.coupon / 100.0 / COUPONS_PER_YEAR
    rate = yield_pct / 100.0 / COUPONS_PER_YEAR
    period_days = 365.25 / COUPONS_PER_YEAR
    # The fraction of the current period still to run before the next coupon.
    first = (remaining[0] - day).days / period_days
    dirty = sum(
        (coupon + (FACE if i == len(remaining) - 1 else 0.0)) / (1 + rate) ** (first + i)
        for i in range(len(remaining))
    )
    accrued = coupon * (1 - min(first, 1.0))
    return dirty - accrued


@dataclass(frozen=True)
class BondBar:
    """One session of a listed bond: prices per 10,000 face (two decimals, as KIS shows
    them), the face amount traded, and the closing yield the close was priced from."""

    day: dt.date
    open: float
    high: float
    low: float
    close: float
    volume: int
    yield_pct: float


def bond_bars(seed: int, bond: Bond, sessions: Sequence[dt.date]) -> list[BondBar]:
    """The bond's bars over `sessions` (every session from the book's start, oldest first):
    the open priced at the yield halfway from the previous close's, the range a seeded margin
    around open and close."""
    path = yield_path(seed, bond, sessions)
    digest = hashlib.sha256(f"{seed}:bond-range:{bond.code}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "big"))
    margins = rng.uniform(0.0, 8.0, len(sessions))
    volumes = rng.integers(1, 400, len(sessions)) * 10_000_000
    bars: list[BondBar] = []
    previous = bond.start_yield
    for i, day in enumerate(sessions):
        level = path[day]
        close = round(clean_price(bond, day, level), 2)
        open_ = round(clean_price(bond, day, (previous + level) / 2), 2)
        high = round(max(open_, close) + margins[i], 2)
        low = round(min(open_, close) - margins[i], 2)
        bars.append(BondBar(day, open_, high, low, close, int(volumes[i]), level))
        previous = level
    return bars
