"""The day a symbol's tape plays: its open, high, low, close and volume (the market's own bar of
the session, or a synthetic day around the last close), the intraday volume curve, and the
price path on the KRX grid through those points."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
from dataclasses import dataclass

import numpy as np

from kis_pipeline.simulator.market_ticks import price_limits, tick_size
from kis_pipeline.simulator.session_clock import SESSION_CLOSE_S, SESSION_OPEN_S, MarketLike

SESSION_S = SESSION_CLOSE_S - SESSION_OPEN_S


def _volume_profile() -> np.ndarray:
    """Cumulative share of the day's volume by session second (U-shaped intensity), S+1 long."""
    t = np.arange(SESSION_S, dtype=np.float64)
    intensity = 1.0 + 2.0 * np.exp(-t / 1200.0) + 2.0 * np.exp(-(SESSION_S - 1 - t) / 1200.0)
    cum = np.concatenate(([0.0], np.cumsum(intensity)))
    return cum / cum[-1]


VOLUME_PROFILE = _volume_profile()


def session_fraction(seconds: float) -> float:
    """Share of a normal day's volume traded by `seconds` after midnight."""
    offset = min(max(seconds - SESSION_OPEN_S, 0.0), float(SESSION_S))
    i = min(int(offset), SESSION_S - 1)
    return float(VOLUME_PROFILE[i] + (VOLUME_PROFILE[i + 1] - VOLUME_PROFILE[i]) * (offset - i))


@dataclass(frozen=True)
class SessionPlan:
    """The day a tape plays: it opens, peaks, bottoms and closes on these prices."""

    symbol: str
    date: dt.date
    prev_close: int  # base price of the day (previous close, or the basis after a split)
    open: int
    high: int
    low: int
    close: int
    volume: int
    prev_volume: int
    listed_shares: int


def price_ladder(base: int) -> list[int]:
    """Every grid price from the lower to the upper daily limit of `base`."""
    upper, lower = price_limits(base)
    ladder = []
    price = lower
    while price <= upper:
        ladder.append(price)
        price += tick_size(price)
    return ladder


def synthetic_plan(
    symbol: str,
    day: dt.date,
    prev_close: int,
    prev_volume: int,
    listed_shares: int,
    *,
    seed: int,
) -> SessionPlan:
    """A plausible day around `prev_close` when the market has no bar for the session."""
    rng = random.Random(f"plan:{seed}:{symbol}:{day.isoformat()}")
    ladder = price_ladder(prev_close)
    top = len(ladder) - 1
    base = min(bisect.bisect_left(ladder, prev_close), top)

    def level(offset: float) -> int:
        return min(max(base + round(offset), 0), top)

    open_lv, close_lv = level(rng.gauss(0, 3)), level(rng.gauss(0, 12))
    high_lv = min(max(open_lv, close_lv) + round(abs(rng.gauss(0, 6))), top)
    low_lv = max(min(open_lv, close_lv) - round(abs(rng.gauss(0, 6))), 0)
    return SessionPlan(
        symbol=symbol,
        date=day,
        prev_close=prev_close,
        open=ladder[open_lv],
        high=ladder[high_lv],
        low=ladder[low_lv],
        close=ladder[close_lv],
        volume=max(1, int(prev_volume * rng.lognormvariate(0, 0.3))),
        prev_volume=prev_volume,
        listed_shares=listed_shares,
    )


def session_plan(
    market: MarketLike, symbol: str, day: dt.date, last_session: dt.date, *, seed: int
) -> SessionPlan | None:
    """The plan for `symbol` on `day`: the market's own bar of that session when it has one
    (so the ticks agree with the daily history once the day completes), else synthetic."""
    listing = market.listing(symbol)
    if listing is None:
        return None
    prev = market.bar(symbol, last_session)
    prev_volume = int(getattr(prev, "volume", 0) or 0) or 100_000
    shares = int(getattr(listing, "listed_shares", 0) or 0) or 10_000_000
    session_bar = getattr(market, "session_bar", None)
    bar = session_bar(symbol, day) if session_bar is not None else None
    if (
        bar is not None
        and bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
    ):
        return SessionPlan(
            symbol=symbol,
            date=day,
            prev_close=int(bar.prev_close or getattr(prev, "close", 0) or bar.open),
            open=int(bar.open),
            high=int(bar.high),
            low=int(bar.low),
            close=int(bar.close),
            volume=max(1, int(bar.volume)),
            prev_volume=prev_volume,
            listed_shares=shares,
        )
    prev_close = int(getattr(prev, "close", 0) or 0) or 10_000
    return synthetic_plan(symbol, day, prev_close, prev_volume, shares, seed=seed)


def level_path(
    rng: np.random.Generator, open_lv: int, high_lv: int, low_lv: int, close_lv: int
) -> np.ndarray:
    """Grid level per session second: Brownian bridges open -> high/low -> low/high -> close,
    kept inside [low, high], so the day touches exactly its open, high, low and close."""
    first, second = (high_lv, low_lv) if rng.random() < 0.5 else (low_lv, high_lv)
    t1, t2 = sorted(int(x) for x in rng.uniform(0.05, 0.95, 2) * SESSION_S)
    t2 = max(t2, t1 + 1)
    anchors = [(0, open_lv), (t1, first), (t2, second), (SESSION_S - 1, close_lv)]
    sigma = max(high_lv - low_lv, 1) / 260.0
    path = bridge(rng, anchors, sigma, SESSION_S)
    return np.clip(np.rint(path), low_lv, high_lv).astype(np.int32)


def bridge(
    rng: np.random.Generator, anchors: list[tuple[int, int]], sigma: float, length: int
) -> np.ndarray:
    """A path of `length` steps through every (step, level) of `anchors` (in step order, the
    first at step 0): a random walk of `sigma` per step between each two, pinned at both."""
    path = np.empty(length, dtype=np.float64)
    path[0] = anchors[0][1]
    for (ta, va), (tb, vb) in itertools.pairwise(anchors):
        span = tb - ta
        if span <= 0:
            continue
        walk = np.cumsum(rng.normal(0.0, sigma, span))
        ramp = np.arange(1, span + 1, dtype=np.float64) / span
        path[ta + 1 : tb + 1] = va + (vb - va) * ramp + walk - ramp * walk[-1]
    return path
