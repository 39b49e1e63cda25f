"""The simulator's ETFs: four large KRX ETFs on KOSPI200, each with a net asset value (NAV)
that tracks the simulator's KOSPI200 index (`2001`) and a price at a small premium or discount
to it.

- The NAV earns `leverage` times the index's close-to-close return each session (KODEX 200 and
  TIGER 200 once, KODEX 레버리지 twice, KODEX 인버스 minus once: rebalanced daily, as those
  funds are), less the fund's yearly fee by calendar day. On the first session it stands at
  `points` times the index's level before that session (100: a KODEX 200 near 24,400 when
  KOSPI200 is near 244). It is kept to two decimals, as KIS shows it.
- The price is the NAV times one plus a premium: a seeded AR(1) walk of a few hundredths of a
  percent, within ±0.5 %, drawn per ETF; on KRX's ETF tick (1 KRW under 2,000, else 5 KRW).
  The volume is a seeded draw around the ETF's typical day.

Every value depends only on the seed and the index series, so every call and every process
sees the same path. Bars start at the later of the history's first session and the listing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from kis_pipeline.simulator.market_indices import IndexSeries

KOSPI200 = "2001"
# The premium's walk: persistence from one session to the next, the day's shock (a fraction
# of the NAV) and the bound a liquidity provider keeps it within.
PREMIUM_PERSISTENCE = 0.5
PREMIUM_SHOCK = 0.0006
PREMIUM_BOUND = 0.005
_VOLUME_SPREAD = 0.35
_DAYS_A_YEAR = 365.0


@dataclass(frozen=True)
class Etf:
    """A listed ETF on a simulated index: its code and name, the multiple of the index's daily
    return its NAV earns, its yearly fee (a fraction of the NAV), its NAV per index point on
    the first session, its listing, listed shares and typical volume (shares a session)."""

    code: str
    name: str
    leverage: float
    fee: float
    points: float
    list_date: dt.date
    listed_shares: int
    volume: int
    index: str = KOSPI200


ETFS: tuple[Etf, ...] = (
    Etf("069500", "KODEX 200", 1.0, 0.0015, 100.0, dt.date(2002, 10, 14), 80_000_000, 4_000_000),
    Etf("102110", "TIGER 200", 1.0, 0.0005, 100.0, dt.date(2008, 4, 3), 40_000_000, 1_500_000),
    Etf(
        "122630", "KODEX 레버리지", 2.0, 0.0064, 45.0, dt.date(2010, 2, 22), 120_000_000, 20_000_000
    ),
    Etf(
        "114800", "KODEX 인버스", -1.0, 0.0064, 30.0, dt.date(2009, 9, 16), 150_000_000, 15_000_000
    ),
)
BY_CODE: Mapping[str, Etf] = {etf.code: etf for etf in ETFS}


@dataclass(frozen=True)
class EtfBar:
    """One session of an ETF: its close and the previous session's (KRW), volume (shares), and
    its NAV and the previous session's (KRW, two decimals)."""

    date: dt.date
    close: int
    prev_close: int
    volume: int
    nav: float
    prev_nav: float

    @property
    def premium_rate(self) -> float:
        """(close - NAV) / NAV in percent, unrounded (KIS's 괴리율)."""
        return (self.close - self.nav) / self.nav * 100.0


@dataclass(frozen=True)
class EtfSeries:
    """An ETF over the book's days, each array one longer: index 0 is the session before the
    first, row r of the book is index r + 1."""

    etf: Etf
    days: Sequence[dt.date]
    nav: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def bar(self, row: int) -> EtfBar | None:
        """The book row's bar, or None before the listing."""
        day = self.days[row]
        if day < self.etf.list_date:
            return None
        return EtfBar(
            day,
            int(self.close[row + 1]),
            int(self.close[row]),
            int(self.volume[row + 1]),
            float(self.nav[row + 1]),
            float(self.nav[row]),
        )


def etf_tick(prices: np.ndarray) -> np.ndarray:
    """KRX's ETF tick (호가단위) of each price: 1 KRW under 2,000, else 5 KRW."""
    return np.where(prices < 2_000, 1.0, 5.0)


def _rng(seed: int, etf: Etf, what: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}:etf-{what}:{etf.code}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def nav_path(etf: Etf, levels: np.ndarray, days: Sequence[dt.date]) -> np.ndarray:
    """The NAV at each of `levels` (the index before the first day, then its close on each
    of `days`), to two decimals."""
    returns = levels[1:] / levels[:-1] - 1.0
    # Calendar days each session's fee covers (one for the first).
    gaps = np.array([1, *((b - a).days for a, b in itertools.pairwise(days))])
    fees = 1.0 - etf.fee * gaps / _DAYS_A_YEAR
    growth = np.maximum(1.0 + etf.leverage * returns, 0.01) * fees
    start = etf.points * levels[0]
    return np.round(start * np.concatenate([[1.0], np.cumprod(growth)]), 2)


def premiums(seed: int, etf: Etf, count: int) -> np.ndarray:
    """The seeded premium walk (fractions of the NAV), `count` sessions."""
    shocks = _rng(seed, etf, "premium").normal(0.0, PREMIUM_SHOCK, count)
    out = np.empty(count)
    level = 0.0
    for i, shock in enumerate(shocks):
        level = min(max(PREMIUM_PERSISTENCE * level + shock, -PREMIUM_BOUND), PREMIUM_BOUND)
        out[i] = level
    return out


def build_etf(
    seed: int, etf: Etf, days: Sequence[dt.date], prev_close: float, close: np.ndarray
) -> EtfSeries:
    """The ETF's series over `days`, from its index's level before the first day and its
    closes."""
    levels = np.concatenate([[prev_close], close])
    nav = nav_path(etf, levels, days)
    fair = nav * (1.0 + premiums(seed, etf, len(levels)))
    ticks = etf_tick(fair)
    price = np.maximum(np.rint(fair / ticks) * ticks, 1.0).astype(np.int64)
    draws = _rng(seed, etf, "volume").normal(0.0, _VOLUME_SPREAD, len(levels))
    volume = (etf.volume * np.exp(draws)).astype(np.int64)
    return EtfSeries(etf, days, nav, price, volume)


def build_etfs(
    seed: int, days: Sequence[dt.date], indices: Mapping[str, IndexSeries]
) -> dict[str, EtfSeries]:
    """Every ETF's series over the book's `days`, from its index's series."""
    return {
        etf.code: build_etf(
            seed, etf, days, float(indices[etf.index].prev_close[0]), indices[etf.index].close
        )
        for etf in ETFS
    }
