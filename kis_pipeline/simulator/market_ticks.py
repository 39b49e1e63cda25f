"""KRX price grid: tick sizes, rounding onto the grid and the daily ±30% price limits.

One tick table is used for KOSPI, KOSDAQ and KONEX and for the whole history (the unified
table KRX has applied since 2023); older per-market tables are not modelled.
Every band boundary is a multiple of the next band's tick, so rounding a price inside one
band onto its own tick always lands on a valid grid price.
"""

from __future__ import annotations

import numpy as np

# Upper bounds (exclusive) of the bands and the tick of each band; the last tick is open-ended.
_BOUNDS = np.array([2_000, 5_000, 20_000, 50_000, 200_000, 500_000], dtype=np.float64)
_TICKS = np.array([1, 5, 10, 50, 100, 500, 1_000], dtype=np.float64)
LIMIT_RATE = 0.30


def tick_size(price: float) -> int:
    """The tick (호가단위) of a KRW price."""
    return int(_TICKS[int(np.searchsorted(_BOUNDS, price, side="right"))])


def tick_array(prices: np.ndarray) -> np.ndarray:
    return _TICKS[np.searchsorted(_BOUNDS, prices, side="right")]


def round_tick(prices: np.ndarray) -> np.ndarray:
    """Nearest grid price (float array, at least 1 KRW)."""
    ticks = tick_array(prices)
    return np.maximum(np.rint(prices / ticks) * ticks, 1.0)


def floor_tick(prices: np.ndarray) -> np.ndarray:
    ticks = tick_array(prices)
    return np.maximum(np.floor(prices / ticks) * ticks, 1.0)


def ceil_tick(prices: np.ndarray) -> np.ndarray:
    ticks = tick_array(prices)
    return np.maximum(np.ceil(prices / ticks) * ticks, 1.0)


def limit_prices(base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(upper, lower) limits for a base price: ±30% truncated inward onto the grid."""
    upper = floor_tick(base * (1.0 + LIMIT_RATE))
    lower = ceil_tick(base * (1.0 - LIMIT_RATE))
    return upper, lower


def price_limits(base: int) -> tuple[int, int]:
    """(upper, lower) limit prices (상한가, 하한가) for one base price."""
    upper, lower = limit_prices(np.array([float(base)]))
    return int(upper[0]), int(lower[0])


def is_on_grid(price: int) -> bool:
    return price >= 1 and price % tick_size(price) == 0
