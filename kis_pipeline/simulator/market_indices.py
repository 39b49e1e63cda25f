"""Domestic indices (KOSPI 0001, KOSDAQ 1001, KOSPI200 2001) chained from their constituents,
and the sector sub-indices of KOSPI and KOSDAQ (SPEC §12.4): one per KRX industry code its
stocks carry (`masters.sector_code`), KOSPI's under that code (00xx), KOSDAQ's under 10xx,
each starting at 1,000.

Each day the index moves by the ratio of the constituents' market value at the close (open,
high, low) to their value at the base prices, so splits never move an index. Highs and lows
of the index sit between its open/close extremes and the aggregate of the members' extremes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kis_pipeline.simulator.market_prices import PriceBook
from kis_pipeline.simulator.masters import sector_code

INDEX_CODES: dict[str, str] = {"0001": "KOSPI", "1001": "KOSDAQ", "2001": "KOSPI200"}
# Levels on the first day of the history (roughly those of January 2015).
_START_LEVEL = {"0001": 1926.44, "1001": 553.73, "2001": 244.05}
KOSPI200_SIZE = 200
# The parents of the sector sub-indices: index code -> market.
PARENTS = {"0001": "KOSPI", "1001": "KOSDAQ"}
_SUB_INDEX_LEVEL = 1000.0


def sub_index_code(market: str, sector: str) -> str | None:
    """The sector sub-index a stock of `market` and `sector` belongs to, or None."""
    code = sector_code(sector)
    if market not in PARENTS.values() or code == "0000":
        return None
    return code if market == "KOSPI" else "1" + code[1:]


def sub_indices(specs: Sequence[Any]) -> dict[str, tuple[str, str]]:
    """Every sector sub-index of the universe, by code: (its sector name, its parent code)."""
    parent = {market: code for code, market in PARENTS.items()}
    found = {}
    for spec in specs:
        code = sub_index_code(spec.market, spec.sector)
        if code is not None:
            found.setdefault(code, (spec.sector, parent[spec.market]))
    return dict(sorted(found.items()))


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
    codes = np.array([sub_index_code(s.market, s.sector) or "" for s in book.specs])
    masks = {**members(book), **{code: codes == code for code in sub_indices(book.specs)}}
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
        start = _START_LEVEL.get(code, _SUB_INDEX_LEVEL)
        close = start * np.cumprod(rel[:, 3])
        prev = np.concatenate([[start], close[:-1]])
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
