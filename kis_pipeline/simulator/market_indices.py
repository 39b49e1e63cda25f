"""Domestic indices (KOSPI 0001, KOSDAQ 1001, KOSPI200 2001) chained from their constituents.

Each day the index moves by the ratio of the constituents' market value at the close (open,
high, low) to their value at the base prices, so splits never move an index. Highs and lows
of the index sit between its open/close extremes and the aggregate of the members' extremes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kis_pipeline.simulator.market_prices import PriceBook

INDEX_CODES: dict[str, str] = {"0001": "KOSPI", "1001": "KOSDAQ", "2001": "KOSPI200"}
# Levels on the first day of the history (roughly those of January 2015).
_START_LEVEL = {"0001": 1926.44, "1001": 553.73, "2001": 244.05}
KOSPI200_SIZE = 200


@dataclass
class IndexSeries:
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    prev_close: np.ndarray
    volume: np.ndarray
    value: np.ndarray


def members(book: PriceBook) -> dict[str, np.ndarray]:
    """Boolean member masks over the universe; KOSPI200 = the 200 largest KOSPI names at start."""
    markets = np.array([spec.market for spec in book.specs])
    kospi = markets == "KOSPI"
    start_cap = np.array([s.start_price for s in book.specs]) * book.final_shares
    ranked = np.argsort(-np.where(kospi, start_cap, -1.0), kind="stable")
    top = np.zeros(len(book.specs), dtype=bool)
    top[ranked[: min(KOSPI200_SIZE, int(kospi.sum()))]] = True
    return {"0001": kospi, "1001": markets == "KOSDAQ", "2001": top & kospi}


def build_indices(book: PriceBook) -> dict[str, IndexSeries]:
    masks = members(book)
    rows = len(book.days)
    out: dict[str, IndexSeries] = {}
    step = 256  # bounded temporaries for large universes
    sums = {code: np.zeros((rows, 5)) for code in masks}
    flows = {code: np.zeros((rows, 2)) for code in masks}
    for lo in range(0, rows, step):
        hi = min(lo + step, rows)
        shares = book.shares_rows(lo, hi)
        base = book.base_rows(lo, hi) * shares
        parts = [
            book.open[lo:hi] * shares,
            book.high[lo:hi] * shares,
            book.low[lo:hi] * shares,
            book.close[lo:hi] * shares,
            base,
        ]
        volume = book.volume[lo:hi]
        value = book.value_rows(lo, hi)
        for code, mask in masks.items():
            for k, part in enumerate(parts):
                sums[code][lo:hi, k] = part[:, mask].sum(axis=1)
            flows[code][lo:hi, 0] = volume[:, mask].sum(axis=1)
            flows[code][lo:hi, 1] = value[:, mask].sum(axis=1)
    for code in masks:
        s = sums[code]
        safe = np.where(s[:, 4] > 0, s[:, 4], 1.0)
        rel = s[:, :4] / safe[:, None]
        rel[s[:, 4] <= 0] = 1.0
        close = _START_LEVEL[code] * np.cumprod(rel[:, 3])
        prev = np.concatenate([[_START_LEVEL[code]], close[:-1]])
        opening = prev * rel[:, 0]
        top = np.maximum(opening, close)
        bottom = np.minimum(opening, close)
        # Members do not all peak at once: the index high is part way to the members' highs.
        high = top + 0.35 * np.maximum(prev * rel[:, 1] - top, 0.0)
        low = bottom - 0.35 * np.maximum(bottom - prev * rel[:, 2], 0.0)
        out[code] = IndexSeries(
            open=np.round(opening, 2),
            high=np.round(high, 2),
            low=np.round(low, 2),
            close=np.round(close, 2),
            prev_close=np.round(prev, 2),
            volume=flows[code][:, 0].astype(np.int64),
            value=flows[code][:, 1].astype(np.int64),
        )
    return out
