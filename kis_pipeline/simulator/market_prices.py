"""The raw daily price book: a (days x symbols) numpy matrix of KRX-valid OHLCV, built once.

Random draws come in blocks of one calendar year x 100 symbols, each from its own seed
sequence, so a given (seed, symbol position, date) always gets the same draw whatever the
universe size, start date or horizon; only the starting price level depends on the start.
Closes are walked day by day (base price, ±30% limit, tick grid); opens, highs, lows and
volumes are then filled in bulk per year. Splits are part of the model whatever the clock
says: the market only hides the ones that have not happened yet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from kis_pipeline.simulator.market_ticks import ceil_tick, floor_tick, limit_prices, round_tick
from kis_pipeline.simulator.market_universe import SymbolSpec

CHUNK = 100
# Seed-sequence stream ids; fixed forever so data stays reproducible across versions.
STREAM_PARAMS = 1
STREAM_MARKET = 2
STREAM_NOISE = 3
STREAM_SHAPE = 4


def seed_words(seed: int) -> list[int]:
    """Seed-sequence words for any int seed (negative seeds included)."""
    return [seed & 0xFFFF_FFFF, (seed >> 32) & 0xFFFF_FFFF]


def chunked(
    seed: int, stream: int, key: int, n: int, draw: str, rows: int, cols: int = 1
) -> np.ndarray:
    """(rows, n, cols) draws where column i always comes from chunk i // CHUNK."""
    parts = []
    for chunk in range((n + CHUNK - 1) // CHUNK):
        rng = np.random.default_rng([*seed_words(seed), stream, key, chunk])
        if draw == "normal":
            block = rng.standard_normal((rows, CHUNK, cols))
        elif draw == "t":
            # Student t with 4 degrees of freedom, scaled to unit variance: fat daily tails.
            block = rng.standard_t(4, (rows, CHUNK, cols)) / np.sqrt(2.0)
        else:
            block = rng.random((rows, CHUNK, cols))
        parts.append(block)
    return np.concatenate(parts, axis=1)[:, :n, :]


@dataclass(frozen=True)
class SplitEvent:
    """A day the base price is divided by `ratio` and the share count multiplied by
    `shares_ratio` (`ratio` when None): a split, a bonus issue (`kind` "bonus_issue"), a
    capital reduction (`kind` "capital_reduction", ratio below 1), which the book prices the
    same way; a rights issue (`kind` "rights_issue": the price falls to the theoretical
    ex-rights price while the shares grow by the rate); or a merger (`kind` "merger": ratio 1,
    new shares at an unchanged price)."""

    symbol: str
    column: int
    day_index: int  # row of the ex day in the book
    date: dt.date
    ratio: float
    kind: str = "split"
    shares_ratio: float | None = None

    @property
    def share_multiplier(self) -> float:
        return self.ratio if self.shares_ratio is None else self.shares_ratio

    @property
    def changes_par(self) -> bool:
        # A bonus issue adds shares at the old par value and a capital reduction cancels some
        # at it; only a split divides it.
        return self.kind == "split"

    @property
    def resets_base(self) -> bool:
        """Whether the chart flags the day: a merger's new shares list without a new base."""
        return self.kind != "merger"

    @property
    def chart_codes(self) -> tuple[str, str]:
        """(flng_cls_code, revl_issu_reas) of the day on the chart (SPEC §7.3)."""
        if self.kind == "capital_reduction":
            # Not an ex-rights day: the relisting base is re-evaluated for the reduction (02).
            return "00", "02"
        # The others are ex-rights (권리락) days; only a split's base is re-evaluated ("99"),
        # a bonus or rights issue's follows the ex-rights formula.
        return "01", "99" if self.changes_par else ""


@dataclass
class SymbolParams:
    """Per-symbol model parameters (arrays over the universe)."""

    sigma: np.ndarray  # daily idiosyncratic volatility
    beta: np.ndarray
    drift: np.ndarray  # yearly growth of the fair level
    turnover: np.ndarray  # mean daily traded fraction of listed shares
    uniform: np.ndarray  # (n, 16) extra uniforms for dividends, fundamentals, flows

    @classmethod
    def draw(cls, seed: int, specs: list[SymbolSpec]) -> SymbolParams:
        n = len(specs)
        z = chunked(seed, STREAM_PARAMS, 0, n, "normal", 1, 8)[0]
        u = chunked(seed, STREAM_PARAMS, 1, n, "uniform", 1, 16)[0]
        kosdaq = np.array([spec.market != "KOSPI" for spec in specs])
        real = np.array([spec.real for spec in specs])
        sigma = np.where(real, 0.014, np.where(kosdaq, 0.024, 0.018)) * np.exp(0.25 * z[:, 0])
        beta = np.clip(1.0 + 0.3 * z[:, 1], 0.2, 2.0)
        # Real large caps drift less apart so the top of the market-cap ranking stays familiar.
        drift = np.where(real, 0.04 + 0.03 * z[:, 2], 0.03 + 0.07 * z[:, 2])
        turnover = np.where(kosdaq, 0.012, 0.004) * np.exp(0.6 * z[:, 3])
        turnover = np.where(real, turnover * 0.6, turnover)
        return cls(sigma, beta, drift, turnover, u)


class PriceBook:
    """Raw OHLCV for `days` x `specs`; prices are int32 KRW, volumes int64 shares."""

    def __init__(
        self, seed: int, specs: list[SymbolSpec], days: list[dt.date], splits: list[SplitEvent]
    ) -> None:
        self.days = days
        self.day_index = {day: i for i, day in enumerate(days)}
        self.specs = specs
        self.splits = splits
        self.params = SymbolParams.draw(seed, specs)
        n, t = len(specs), len(days)
        self.final_shares = np.array([spec.final_shares for spec in specs], dtype=np.float64)
        self.open = np.zeros((t, n), dtype=np.int32)
        self.high = np.zeros((t, n), dtype=np.int32)
        self.low = np.zeros((t, n), dtype=np.int32)
        self.close = np.zeros((t, n), dtype=np.int32)
        self.volume = np.zeros((t, n), dtype=np.int64)
        # Raw-per-adjusted multiplier before any split of the model: raw = adjusted * mult.
        mult0 = np.ones(n)
        for event in splits:
            mult0[event.column] *= event.ratio
        self.mult0 = mult0
        self.first_base = round_tick(np.array([s.start_price for s in specs]) * mult0)
        self._build(seed)

    # --- construction -------------------------------------------------------------------

    def _year_blocks(self) -> list[tuple[int, int, int]]:
        """(year, first row, end row) of each calendar year in the book."""
        blocks: list[tuple[int, int, int]] = []
        row = 0
        while row < len(self.days):
            year = self.days[row].year
            end = row
            while end < len(self.days) and self.days[end].year == year:
                end += 1
            blocks.append((year, row, end))
            row = end
        return blocks

    def _build(self, seed: int) -> None:
        n = len(self.specs)
        p = self.params
        split_rows: dict[int, list[SplitEvent]] = {}
        for event in self.splits:
            split_rows.setdefault(event.day_index, []).append(event)
        start = self.days[0]
        target0 = np.log(np.array([s.start_price for s in self.specs]))
        mult = self.mult0.copy()
        prev_close = self.first_base.copy()
        kappa = 0.004  # daily pull toward the fair level keeps ten-year paths in a sane range
        for year, lo, hi in self._year_blocks():
            rows = hi - lo
            span = 262  # weekdays in a year, upper bound
            market = chunked(seed, STREAM_MARKET, year, 1, "t", span)[:, 0, 0] * 0.010
            noise = chunked(seed, STREAM_NOISE, year, n, "t", span)[:, :, 0]
            shape = chunked(seed, STREAM_SHAPE, year, n, "normal", span, 4)
            # Draws are laid out over every weekday of the year, so holidays skip a draw and
            # a date's draw does not depend on where the history starts.
            ordinals = [weekday_ordinal(dt.date(year, 1, 1), d) for d in self.days[lo:hi]]
            idx = np.array(ordinals, dtype=np.int64)
            shocks = p.beta * market[idx][:, None] + p.sigma * noise[idx]
            shape = shape[idx]
            closes = np.empty((rows, n))
            bases = np.empty((rows, n))
            for r in range(rows):
                row = lo + r
                base = prev_close
                for event in split_rows.get(row, ()):
                    base = base.copy()
                    base[event.column] = round_tick(np.array([base[event.column] / event.ratio]))[0]
                    mult[event.column] /= event.ratio
                years = (self.days[row] - start).days / 365.25
                gap = target0 + p.drift * years - np.log(base / mult)
                wanted = base * np.exp(shocks[r] + kappa * gap)
                upper, lower = limit_prices(base)
                close = np.clip(round_tick(wanted), lower, upper)
                closes[r] = close
                bases[r] = base
                prev_close = close
            self._fill_block(lo, hi, bases, closes, shape, p)

    def _fill_block(
        self,
        lo: int,
        hi: int,
        base: np.ndarray,
        close: np.ndarray,
        shape: np.ndarray,
        p: SymbolParams,
    ) -> None:
        upper, lower = limit_prices(base)
        ret = np.log(close / base)
        sig = p.sigma[None, :]
        opening = base * np.exp(0.3 * ret + 0.5 * sig * shape[:, :, 0])
        opening = np.clip(round_tick(opening), lower, upper)
        top = np.maximum(opening, close) * np.exp(np.abs(shape[:, :, 1]) * 0.6 * sig)
        bottom = np.minimum(opening, close) * np.exp(-np.abs(shape[:, :, 2]) * 0.6 * sig)
        high = np.minimum(ceil_tick(top), upper)
        low = np.maximum(floor_tick(bottom), lower)
        shares = self.shares_rows(lo, hi)
        activity = np.exp(0.45 * shape[:, :, 3] - 0.1) * (1.0 + 25.0 * np.abs(ret))
        volume = np.maximum(shares * p.turnover[None, :] * activity, 1.0)
        self.open[lo:hi] = opening
        self.high[lo:hi] = high
        self.low[lo:hi] = low
        self.close[lo:hi] = close
        self.volume[lo:hi] = volume.astype(np.int64)

    # --- derived views ------------------------------------------------------------------

    def shares_rows(self, lo: int, hi: int) -> np.ndarray:
        """Listed shares per (row, symbol) for rows lo..hi (they change on split days)."""
        shares = np.broadcast_to(self.final_shares, (hi - lo, len(self.specs))).copy()
        for event in self.splits:
            before = min(max(event.day_index - lo, 0), hi - lo)
            shares[:before, event.column] /= event.share_multiplier
        return shares

    def base_rows(self, lo: int, hi: int) -> np.ndarray:
        """Base prices (previous close, reset on split days) for rows lo..hi, int64."""
        base = np.empty((hi - lo, len(self.specs)), dtype=np.int64)
        if lo == 0:
            base[0] = self.first_base
            if hi > 1:
                base[1:] = self.close[0 : hi - 1]
        else:
            base[:] = self.close[lo - 1 : hi - 1]
        for event in self.splits:
            if lo <= event.day_index < hi:
                prev = self.close[event.day_index - 1, event.column]
                base[event.day_index - lo, event.column] = int(
                    round_tick(np.array([prev / event.ratio]))[0]
                )
        return base

    def value_rows(self, lo: int, hi: int, columns: np.ndarray | None = None) -> np.ndarray:
        """Traded value in KRW: volume times a typical price inside the day's range."""

        def part(matrix: np.ndarray) -> np.ndarray:
            rows = matrix[lo:hi]
            return rows if columns is None else np.take(rows, columns, axis=1)

        typical = (
            part(self.high).astype(np.float64) + part(self.low) + 2.0 * part(self.close)
        ) / 4.0
        return np.rint(part(self.volume) * typical).astype(np.int64)


def weekday_ordinal(jan1: dt.date, day: dt.date) -> int:
    """Number of weekdays from `jan1` up to (not including) `day`."""
    days = (day - jan1).days
    weeks, rest = divmod(days, 7)
    count = weeks * 5
    first = jan1.weekday()
    for k in range(rest):
        if (first + k) % 7 < 5:
            count += 1
    return count
