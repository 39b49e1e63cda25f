"""A stock's one-minute bars of a session, drawn from the day's own bar so that they add up to
it: the first bar opens on the day's open, the bars touch its high and low, the closing-auction
bar closes on its close, their volumes sum to its volume and their values to its value.

KRX trades continuously from the open to ten minutes before the close (09:00-15:19, 380
minutes), then takes orders for the closing auction, which prints one bar at the close
(15:30). On a late-open day (the exam day) every time is an hour later. A minute without a
trade has no bar. Prices move on the KRX grid of the day's base price along a Brownian bridge
through the open, the high and the low (in either order) and the last continuous close, one
level of noise at most beyond a bar's open and close; volumes follow a U-shaped intraday curve.
Everything is a function of (seed, symbol, day): the same bars on every call.
"""

from __future__ import annotations

import bisect
import datetime as dt
import zlib
from dataclasses import dataclass

import numpy as np

from kis_pipeline.common.overseas_exchanges import EXCHANGES
from kis_pipeline.simulator.market_types import DailyBar, IndexBar, OverseasBar
from kis_pipeline.simulator.session_clock import SESSION_OPEN_S, late_open_s
from kis_pipeline.simulator.session_plan import bridge, price_ladder

CONTINUOUS_MINUTES = 380  # 09:00 to 15:19
CLOSING_AUCTION_S = 15 * 3600 + 30 * 60
# Share of the day's volume the closing auction takes (KRX's is a few percent).
CLOSING_SHARE = 0.05


@dataclass(frozen=True)
class MinuteBar:
    """One bar: `second` is its start, seconds after midnight KST."""

    second: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    value: int


def _grid(bar: DailyBar) -> list[int]:
    """The prices the day can print: the grid of its base price inside [low, high], with the
    day's own prices (which are on it, but the base may have moved)."""
    base = bar.prev_close or bar.open
    ladder = [p for p in price_ladder(base) if bar.low <= p <= bar.high]
    return sorted({*ladder, bar.open, bar.high, bar.low, bar.close})


def _volumes(rng: np.random.Generator, total: int) -> np.ndarray:
    """`total` shares over the continuous minutes and the closing auction (last entry)."""
    t = np.arange(CONTINUOUS_MINUTES, dtype=np.float64)
    last = CONTINUOUS_MINUTES - 1
    shape = 1.0 + 2.0 * np.exp(-t / 20.0) + 2.0 * np.exp(-(last - t) / 20.0)
    weights = shape * rng.lognormal(0.0, 0.6, CONTINUOUS_MINUTES)
    weights = weights / weights.sum() * (1.0 - CLOSING_SHARE)
    return _allocate(total, np.append(weights, CLOSING_SHARE))


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Whole shares of `total` in proportion to `weights`, summing to `total` exactly."""
    exact = weights / weights.sum() * total
    whole = np.floor(exact).astype(np.int64)
    short = total - int(whole.sum())
    if short > 0:
        whole[np.argsort(whole - exact)[:short]] += 1
    return whole


def minute_bars(
    seed: int,
    symbol: str,
    bar: DailyBar,
    grid: list[int] | None = None,
    *,
    every_minute: bool = False,
) -> list[MinuteBar]:
    """The session's bars, oldest first, that add up to `bar` (see the module docstring);
    `grid`, the prices it can print (the KRX grid of its base price by default);
    `every_minute`, a bar even for a minute without a trade (an index moves regardless)."""
    grid = grid if grid is not None else _grid(bar)
    top = len(grid) - 1
    level = {price: i for i, price in enumerate(grid)}
    rng = np.random.default_rng(zlib.crc32(f"minutes:{seed}:{symbol}:{bar.date}".encode()))
    last = CONTINUOUS_MINUTES - 1
    # The last continuous minute ends near the close; the auction prints the close itself.
    pre_close = min(max(level[bar.close] + int(rng.integers(-1, 2)), 0), top)
    t1, t2 = sorted(int(x) for x in rng.choice(np.arange(1, last), 2, replace=False))
    first, second = (
        (level[bar.high], level[bar.low])
        if rng.random() < 0.5
        else (level[bar.low], level[bar.high])
    )
    anchors = [(0, level[bar.open]), (t1, first), (t2, second), (last, pre_close)]
    path = bridge(rng, anchors, max(top, 1) / 12.0, CONTINUOUS_MINUTES)
    path = np.clip(np.rint(path), 0, top).astype(np.int64)
    noise = rng.integers(0, 2, size=(CONTINUOUS_MINUTES, 2))
    volumes = _volumes(rng, bar.volume)
    start = SESSION_OPEN_S + late_open_s(bar.date)
    rows: list[tuple[int, int, int, int, int, int]] = []
    prev = level[bar.open]
    for minute in range(CONTINUOUS_MINUTES):
        o = prev if minute else level[bar.open]
        c = int(path[minute])
        hi = min(max(o, c) + int(noise[minute, 0]), top)
        lo = max(min(o, c) - int(noise[minute, 1]), 0)
        rows.append(
            (start + 60 * minute, grid[o], grid[hi], grid[lo], grid[c], int(volumes[minute]))
        )
        prev = c
    auction = CLOSING_AUCTION_S + late_open_s(bar.date)
    rows.append((auction, bar.close, bar.close, bar.close, bar.close, int(volumes[-1])))
    traded = rows if every_minute else [r for r in rows if r[5] > 0]
    # The day's value, shared in proportion to each bar's shares at its middle price.
    worth = np.array([r[5] * (r[2] + r[3]) / 2.0 for r in traded], dtype=np.float64)
    values = _allocate(bar.value, worth) if traded and worth.sum() > 0 else np.zeros(len(traded))
    return [
        MinuteBar(s, o, h, lo, c, v, int(value))
        for (s, o, h, lo, c, v), value in zip(traded, values, strict=True)
    ]


def closing_auction(seed: int, symbol: str, bar: DailyBar) -> MinuteBar | None:
    """The closing auction's bar of the session (`minute_bars`), None if it traded nothing."""
    last = minute_bars(seed, symbol, bar)[-1:]
    at = CLOSING_AUCTION_S + late_open_s(bar.date)
    return last[0] if last and last[0].second == at else None


def index_minute_bars(seed: int, code: str, bar: IndexBar) -> list[IndexMinute]:
    """An index's bars of a session, in index points, drawn as a stock's are on a grid of
    hundredths of a point; volumes and values add up to the day's."""

    def cents(level: float) -> int:
        return round(level * 100)

    low, high = cents(bar.low), cents(bar.high)
    as_stock = DailyBar(
        bar.date,
        cents(bar.open),
        high,
        low,
        cents(bar.close),
        bar.volume,
        bar.value,
        cents(bar.prev_close or bar.open),
    )
    grid = list(range(low, high + 1))
    bars = minute_bars(seed, f"index:{code}", as_stock, grid, every_minute=True)
    return [
        IndexMinute(
            b.second, b.open / 100, b.high / 100, b.low / 100, b.close / 100, b.volume, b.value
        )
        for b in bars
    ]


@dataclass(frozen=True)
class IndexMinute:
    """One bar of an index: levels in points, volume in shares, value in KRW."""

    second: int
    open: float
    high: float
    low: float
    close: float
    volume: int
    value: int


def at_or_before(bars: list[MinuteBar] | list[IndexMinute], second: int) -> int:
    """How many of `bars` (oldest first) start at or before `second`."""
    return bisect.bisect_right([b.second for b in bars], second)


@dataclass(frozen=True)
class OverseasMinute:
    """One bar of an overseas stock: `start` local (naive), prices in the local currency."""

    start: dt.datetime
    open: float
    high: float
    low: float
    close: float
    volume: int
    value: int


def overseas_minute_bars(
    seed: int, excd: str, symbol: str, bar: OverseasBar
) -> list[OverseasMinute]:
    """A regular session's bars of an overseas stock (`EXCHANGES[excd].sessions`, lunch breaks
    left out), drawn on a grid of the exchange's price step: the first opens on the day's open,
    the last closes on its close, they touch its high and low, and their volumes and values
    sum to the day's."""
    exchange = EXCHANGES[excd]
    step = 10**exchange.decimals

    def units(price: float) -> int:
        return round(price * step)

    low, high = units(bar.low), units(bar.high)
    top = high - low
    rng = np.random.default_rng(zlib.crc32(f"overseas:{seed}:{excd}:{symbol}:{bar.date}".encode()))
    starts = exchange.minutes()
    n = len(starts)
    t1, t2 = sorted(int(x) for x in rng.choice(np.arange(1, n - 1), 2, replace=False))
    first, second = (top, 0) if rng.random() < 0.5 else (0, top)
    opens, closes = units(bar.open) - low, units(bar.close) - low
    anchors = [(0, opens), (t1, first), (t2, second), (n - 1, closes)]
    path = np.clip(np.rint(bridge(rng, anchors, max(top, 1) / 12.0, n)), 0, top).astype(np.int64)
    t = np.arange(n, dtype=np.float64)
    shape = 1.0 + 2.0 * np.exp(-t / 20.0) + 2.0 * np.exp(-t[::-1] / 20.0)
    volumes = _allocate(bar.volume, shape * rng.lognormal(0.0, 0.6, n))
    rows = []
    prev = opens
    for i, start in enumerate(starts):
        o, c = prev, int(path[i])
        rows.append((start, o, max(o, c), min(o, c), c, int(volumes[i])))
        prev = c
    worth = np.array([v * (h + lo + 2 * low) / 2.0 for _, _, h, lo, _, v in rows], dtype=np.float64)
    values = _allocate(int(bar.value), worth) if worth.sum() > 0 else np.zeros(n, dtype=np.int64)
    day = bar.date
    return [
        OverseasMinute(
            dt.datetime.combine(day, start),
            (o + low) / step,
            (h + low) / step,
            (lo + low) / step,
            (c + low) / step,
            v,
            int(value),
        )
        for (start, o, h, lo, c, v), value in zip(rows, values, strict=True)
    ]
