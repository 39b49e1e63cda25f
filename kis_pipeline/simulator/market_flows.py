"""Investor flows: who bought and sold each symbol's daily volume and value.

Every share traded has one buyer and one seller, so each side's four groups (individual,
foreign, institution, other corporations) add up to the day's volume and value, and the four
nets sum to zero exactly, in shares and in KRW. Foreigners lean with the day's move,
individuals against it. One day is drawn for the whole universe at once and cached.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from kis_pipeline.simulator.market_prices import PriceBook, chunked
from kis_pipeline.simulator.market_types import INVESTOR_GROUPS, InvestorFlow

STREAM_FLOWS = 5
STREAM_FLOW_DETAIL = 8
# KIS sub-groups (field prefixes of SPEC §9.1/§9.3) and their usual weight in their parent.
INSTITUTION_PARTS: tuple[str, ...] = ("scrt", "ivtr", "pe_fund", "bank", "insu", "mrbn", "fund")
_INSTITUTION_MIX = np.array([0.30, 0.14, 0.10, 0.03, 0.07, 0.01, 0.35])
FOREIGN_PARTS: tuple[str, ...] = ("frgn_reg", "frgn_nreg")
_FOREIGN_MIX = np.array([0.96, 0.04])
# Typical share of each side by market: individual, foreign, institution, other corporations.
_MIX = {
    "KOSPI": np.array([0.50, 0.27, 0.18, 0.05]),
    "KOSDAQ": np.array([0.82, 0.09, 0.05, 0.04]),
    "KONEX": np.array([0.88, 0.02, 0.04, 0.06]),
}


def split_exact(totals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Integer parts of `totals` (n,) by `weights` (n, 4) that add up exactly per row."""
    raw = totals[:, None] * weights
    parts = np.floor(raw).astype(np.int64)
    rest = totals - parts.sum(axis=1)
    biggest = np.argmax(weights, axis=1)
    parts[np.arange(len(totals)), biggest] += rest
    return parts


class FlowModel:
    def __init__(self, seed: int, book: PriceBook) -> None:
        self.seed = seed
        self.book = book
        self.mix = np.stack([_MIX[spec.market] for spec in book.specs])
        self.markets = np.array([spec.market for spec in book.specs])
        self._cache: dict[int, np.ndarray] = {}

    def day_matrix(self, row: int) -> np.ndarray:
        """(n, 4 groups, 4) int64: buy volume, sell volume, buy value, sell value."""
        cached = self._cache.get(row)
        if cached is not None:
            return cached
        book = self.book
        n = len(book.specs)
        day = book.days[row]
        key = day.toordinal()
        z = chunked(self.seed, STREAM_FLOWS, key, n, "normal", 1, 8)[0]
        base = book.base_rows(row, row + 1)[0].astype(np.float64)
        ret = book.close[row] / base - 1.0
        tilt = np.clip(ret * 4.0, -0.3, 0.3)
        lean = np.array([-0.6, 1.0, 0.5, -0.2])  # how each group leans with the move
        buy_w = self.mix * np.exp(0.15 * z[:, :4] + tilt[:, None] * lean)
        sell_w = self.mix * np.exp(0.15 * z[:, 4:] - tilt[:, None] * lean)
        buy_w /= buy_w.sum(axis=1, keepdims=True)
        sell_w /= sell_w.sum(axis=1, keepdims=True)
        volume = book.volume[row].astype(np.int64)
        value = book.value_rows(row, row + 1)[0]
        out = np.empty((n, 4, 4), dtype=np.int64)
        out[:, :, 0] = split_exact(volume, buy_w)
        out[:, :, 1] = split_exact(volume, sell_w)
        # Each group's value follows its share of the volume at the day's average price.
        out[:, :, 2] = split_exact(value, _shares(out[:, :, 0], volume))
        out[:, :, 3] = split_exact(value, _shares(out[:, :, 1], volume))
        if len(self._cache) > 512:
            self._cache.clear()
        self._cache[row] = out
        return out

    def detail_of(
        self, row: int, key: str, column: int | None
    ) -> dict[str, tuple[int, int, int, int]]:
        """`detail` of one symbol (its `column`) or of the market named `key`; {} for neither."""
        if column is not None:
            mask = np.zeros(len(self.markets), dtype=bool)
            mask[column] = True
        else:
            mask = self.markets == key
            if not mask.any():
                return {}
        return self.detail(row, mask)

    def detail(self, row: int, mask: np.ndarray) -> dict[str, tuple[int, int, int, int]]:
        """Institution and foreign sub-groups: (buy volume, sell volume, buy value, sell value).

        The institution parts add up exactly to the institution totals, the foreign parts to
        the foreign totals, symbol by symbol; `mask` selects the symbols to add up.
        """
        day = self.day_matrix(row)[mask]
        n = len(day)
        z = chunked(
            self.seed,
            STREAM_FLOW_DETAIL,
            self.book.days[row].toordinal(),
            len(self.book.specs),
            "normal",
            1,
            9,
        )[0][mask]
        out: dict[str, tuple[int, int, int, int]] = {}
        for group, names, mix, noise in (
            (2, INSTITUTION_PARTS, _INSTITUTION_MIX, z[:, :7]),
            (1, FOREIGN_PARTS, _FOREIGN_MIX, z[:, 7:9]),
        ):
            weights = mix * np.exp(0.3 * noise) if n else np.zeros((0, len(mix)))
            weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
            parts = np.stack([split_exact(day[:, group, k], weights) for k in range(4)], axis=2)
            totals = parts.sum(axis=0)
            for i, name in enumerate(names):
                out[name] = (
                    int(totals[i, 0]),
                    int(totals[i, 1]),
                    int(totals[i, 2]),
                    int(totals[i, 3]),
                )
        return out

    def symbol_flow(self, row: int, column: int) -> InvestorFlow:
        return _to_flow(
            self.book.days[row], self.book.specs[column].symbol, self.day_matrix(row)[column]
        )

    def market_flow(self, row: int, market: str) -> InvestorFlow | None:
        mask = self.markets == market
        if not mask.any():
            return None
        total = self.day_matrix(row)[mask].sum(axis=0)
        return _to_flow(self.book.days[row], market, total)


def _shares(parts: np.ndarray, total: np.ndarray) -> np.ndarray:
    safe = np.maximum(total, 1)[:, None]
    weights = parts / safe
    weights[total == 0] = 0.25
    return weights


def _to_flow(day: dt.date, key: str, m: np.ndarray) -> InvestorFlow:
    fields: dict[str, int] = {}
    for g, name in enumerate(INVESTOR_GROUPS):
        buy_v, sell_v, buy_k, sell_k = (int(x) for x in m[g])
        fields[f"{name}_buy_volume"] = buy_v
        fields[f"{name}_sell_volume"] = sell_v
        fields[f"{name}_net_volume"] = buy_v - sell_v
        fields[f"{name}_buy_value"] = buy_k
        fields[f"{name}_sell_value"] = sell_k
        fields[f"{name}_net_value"] = buy_k - sell_k
    return InvestorFlow(date=day, key=key, **fields)
