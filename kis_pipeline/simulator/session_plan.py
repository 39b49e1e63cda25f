"""The day a symbol's tape plays: its open, high, low, close and volume (the market's own bar of
the session, or a synthetic day around the last close), the intraday volume curve, and the
price path on the KRX grid through those points."""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from kis_pipeline.simulator.market_ticks import price_limits, tick_size
from kis_pipeline.simulator.session_clock import KRX_HOURS, Hours, MarketLike
from kis_pipeline.simulator.venues import KRX, on_venue, trades_on

SESSION_S = KRX_HOURS.length


@functools.cache
def volume_profile(length: int = SESSION_S) -> np.ndarray:
    """Cumulative share of the day's volume by session second (U-shaped intensity) over a
    session of `length` seconds, length + 1 long."""
    t = np.arange(length, dtype=np.float64)
    intensity = 1.0 + 2.0 * np.exp(-t / 1200.0) + 2.0 * np.exp(-(length - 1 - t) / 1200.0)
    cum = np.concatenate(([0.0], np.cumsum(intensity)))
    return cum / cum[-1]


VOLUME_PROFILE = volume_profile()


def session_fraction(seconds: float, hours: Hours = KRX_HOURS) -> float:
    """Share of a normal day's volume traded by `seconds` after midnight on `hours`."""
    length = hours.length
    profile = volume_profile(length)
    offset = min(max(seconds - hours.open_s, 0.0), float(length))
    i = min(int(offset), length - 1)
    return float(profile[i] + (profile[i + 1] - profile[i]) * (offset - i))


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
    market: MarketLike,
    symbol: str,
    day: dt.date,
    last_session: dt.date,
    *,
    seed: int,
    venue: str = KRX,
) -> SessionPlan | None:
    """The plan for `symbol` on `day` on `venue` (`venues`: J, NX, UN): the market's own bar of
    that session as the venue saw it when it has one (so the ticks agree with the daily history
    once the day completes), else synthetic. None when the symbol is not listed, or not traded
    on the venue (NX for a name Nextrade does not list)."""
    listing = market.listing(symbol)
    if listing is None:
        return None
    prev = _on(venue, listing, market.bar(symbol, last_session))
    prev_volume = int(getattr(prev, "volume", 0) or 0) or 100_000
    shares = int(getattr(listing, "listed_shares", 0) or 0) or 10_000_000
    session_bar = getattr(market, "session_bar", None)
    bar = session_bar(symbol, day) if session_bar is not None else None
    if venue != KRX:
        if not trades_on(venue, listing, day):
            return None
        bar = _on(venue, listing, bar)
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


def _on(venue: str, listing: Any, bar: Any) -> Any:
    """`bar` as `venue` saw it (the KRX bar itself when it is not a `DailyBar`)."""
    if venue == KRX or bar is None or not hasattr(bar, "prev_close"):
        return bar
    return on_venue(venue, listing, bar)


def level_path(
    rng: np.random.Generator,
    open_lv: int,
    high_lv: int,
    low_lv: int,
    close_lv: int,
    length: int = SESSION_S,
) -> np.ndarray:
    """Grid level per session second of a `length`-second day: Brownian bridges open ->
    high/low -> low/high -> close, kept inside [low, high], so the day touches exactly its open,
    high, low and close."""
    first, second = (high_lv, low_lv) if rng.random() < 0.5 else (low_lv, high_lv)
    t1, t2 = sorted(int(x) for x in rng.uniform(0.05, 0.95, 2) * length)
    t2 = max(t2, t1 + 1)
    anchors = [(0, open_lv), (t1, first), (t2, second), (length - 1, close_lv)]
    # The same wander per second as a KRX day, whatever the venue's length.
    sigma = max(high_lv - low_lv, 1) / 260.0
    path = bridge(rng, anchors, sigma, length)
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
