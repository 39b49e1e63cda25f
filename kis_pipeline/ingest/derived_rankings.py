"""The four rankings of a past session, derived from the warehouse as KIS would rank them.

KIS keeps no ranking history (SPEC §8), so a day that is no longer the latest session is
ranked here from `daily_prices`, the same way KIS (and the simulator's `Market.ranking`) does:
- `volume`: by the day's volume;
- `rise` / `fall`: by the change rate against the day's base price (the previous close, or
  the reset basis after a split: `close - change`), rounded to two decimals, highest (lowest)
  first;
- `market_cap`: by close x listed shares;
ties by symbol code, top 30. Measures KIS derives from data the warehouse does not hold
(N-day averages, consecutive up/down days) are null. The ranking covers the symbols the
warehouse has bars for: the whole market unless `KIS_SYMBOLS` restricted `daily_prices`.

Listed shares come from the `symbols` snapshot nearest the day, moved across any split in
between with the daily chart's split ratios (`split_ratio` = new base / old close).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.warehouse import Warehouse

ROWS = 30
KINDS = ("volume", "rise", "fall", "market_cap")
SOURCE = "derived"
VENUE = "KRX"
PRICES = "daily_prices"


def percent(part: np.ndarray, whole: np.ndarray) -> list[float | None]:
    """`part / whole` in percent with two decimals, formatted as KIS formats it."""
    out: list[float | None] = []
    for p, w in zip(part.tolist(), whole.tolist(), strict=True):
        # A zero or missing (NaN) denominator has no rate.
        out.append(float(f"{p / w * 100.0:.2f}") if w and w == w else None)
    return out


def rank_order(score: np.ndarray, symbols: np.ndarray) -> np.ndarray:
    """Indices best first: highest score, ties by symbol code (as `np.lexsort` in the market)."""
    return np.lexsort((symbols, -score))


def derive_rankings(bars: pl.DataFrame) -> pl.DataFrame:
    """Top 30 of each ranking for every date in `bars`, in `schemas.RANKINGS`: day by day,
    each day's rankings in `KINDS` order, best first.

    `bars`: `daily_prices` rows of the days to rank, each with `name`, `market` and
    `listed_shares` as of its day and `prev_volume` (the symbol's volume on the previous
    session, null if unknown). Every day is ranked on its own, as KIS ranks one session; the
    days are computed together because a backfill ranks hundreds of them.
    """
    bars = bars.sort("date", "symbol")
    if bars.is_empty():
        return pl.DataFrame(schema=schemas.RANKINGS)
    symbols = bars["symbol"].to_numpy()
    close = bars["close"].to_numpy().astype(np.float64)
    base = close - bars["change"].to_numpy().astype(np.float64)
    shares = bars["listed_shares"].fill_null(0).to_numpy().astype(np.float64)
    cap = close * shares
    with np.errstate(divide="ignore", invalid="ignore"):
        # The same expression and rounding as the market model, so ties break identically.
        rate = np.where(base > 0, np.round((close - base) / base * 100.0, 2), 0.0)
    # Each day's market capitalisation per market (a symbol without a market counts with the
    # others that lack one).
    totals = (
        bars.select("date", "market", pl.Series("cap", cap))
        .group_by("date", "market")
        .agg(pl.col("cap").sum().alias("total"))
    )
    weights = (
        bars.select("date", "market")
        .join(totals, on=["date", "market"], how="left", nulls_equal=True)["total"]
        .fill_null(0.0)
        .to_numpy()
    )
    measures = bars.with_columns(
        change_rate=pl.Series(percent(close - base, base), dtype=pl.Float64),
        open_change_rate=pl.Series(
            percent(close - bars["open"].to_numpy(), bars["open"].to_numpy().astype(np.float64)),
            dtype=pl.Float64,
        ),
        volume_turnover=pl.Series(
            percent(bars["volume"].to_numpy().astype(np.float64), shares), dtype=pl.Float64
        ),
        market_cap=pl.Series(np.rint(cap).astype(np.int64)),
        market_cap_weight=pl.Series(percent(cap, weights), dtype=pl.Float64),
    )
    scores = {
        "volume": bars["volume"].to_numpy().astype(np.float64),
        "rise": rate,
        "fall": -rate,
        "market_cap": cap,
    }
    rows: list[int] = []
    kinds: list[str] = []
    ranks: list[int] = []
    dates = bars["date"].to_numpy()
    _, starts = np.unique(dates, return_index=True)
    for first, end in zip(starts, [*starts[1:], len(dates)], strict=True):
        for kind in KINDS:
            order = rank_order(scores[kind][first:end], symbols[first:end])[:ROWS] + first
            rows.extend(order.tolist())
            kinds.extend([kind] * len(order))
            ranks.extend(range(1, len(order) + 1))
    top = measures[rows].with_columns(
        ranking=pl.Series(kinds, dtype=pl.String), rank=pl.Series(ranks, dtype=pl.Int64)
    )
    # The measures each ranking carries at KIS (SPEC §8.1-§8.3); the others stay null.
    carried = {
        "volume": ("value", "prev_volume", "volume_turnover", "listed_shares"),
        "rise": ("high", "low", "open_change_rate"),
        "fall": ("high", "low", "open_change_rate"),
        "market_cap": ("listed_shares", "market_cap", "market_cap_weight"),
    }
    shown = {column for columns in carried.values() for column in columns}
    frame = top.select(
        "date",
        "ranking",
        "rank",
        "symbol",
        pl.lit(SOURCE).alias("source"),
        "name",
        pl.lit(VENUE).alias("venue"),
        pl.col("close").alias("price"),
        "change",
        "change_rate",
        "volume",
        *(
            pl.when(pl.col("ranking").is_in([k for k, cs in carried.items() if column in cs]))
            .then(pl.col(column))
            .alias(column)
            for column in sorted(shown)
        ),
    )
    missing = [
        pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in schemas.RANKINGS.items()
        if name not in frame.columns
    ]
    return frame.with_columns(missing).select(list(schemas.RANKINGS)).cast(dict(schemas.RANKINGS))


def shares_on(listed_shares: int, snapshot_day: dt.date, day: dt.date, splits: pl.DataFrame) -> int:
    """Listed shares on `day` from a snapshot taken on `snapshot_day`.

    `splits`: (date, split_ratio) of the symbol's split days. A split on day t multiplies the
    share count by 1 / split_ratio from t on.
    """
    factor = 1.0
    for row in splits.iter_rows(named=True):
        ratio = row["split_ratio"]
        if not ratio:
            continue
        if day < row["date"] <= snapshot_day:
            factor *= ratio
        elif snapshot_day < row["date"] <= day:
            factor /= ratio
    return round(listed_shares * factor)


LISTING_SCHEMA = {
    "symbol": pl.String,
    "name": pl.String,
    "market": pl.String,
    "listed_shares": pl.Int64,
}
# Days derived from one read of `daily_prices`: bounds a run's memory over years of a universe.
DERIVE_BLOCK = 100
# How many partitions before a day are searched for its previous session's bars.
PREVIOUS_WINDOW = 10


@dataclass(frozen=True)
class Derived:
    """Derived rankings of some days: the rows, each day's number of bars (0: the market was
    closed), and the days `daily_prices` has no partition for."""

    frame: pl.DataFrame
    bars: dict[dt.date, int]
    missing: list[dt.date]


class History:
    """What deriving past days reads from the warehouse, read once per run (or per block of
    `DERIVE_BLOCK` days) rather than once per day: over a year of days the per-day reads of
    manifests, snapshots and every `daily_prices` file for splits were most of a backfill's
    time."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self.present = warehouse.partitions(PRICES)
        self.snapshots = warehouse.partitions("symbols")
        self._listings: dict[str, pl.DataFrame] = {}
        self._splits: pl.DataFrame | None = None

    def derive(self, days: Sequence[dt.date]) -> Derived:
        """The derived rankings of `days` (at most `DERIVE_BLOCK` of them, for memory)."""
        keys = sorted(d.isoformat() for d in days)
        present = set(self.present)
        missing = [day for day in days if day.isoformat() not in present]
        keys = [key for key in keys if key in present]
        if not keys:
            return Derived(pl.DataFrame(schema=schemas.RANKINGS), {}, missing)
        first = bisect.bisect_left(self.present, keys[0])
        last = bisect.bisect_right(self.present, keys[-1])
        # The partitions before the first day too: the previous session's volume.
        frame = self.warehouse.read(PRICES, self.present[max(first - PREVIOUS_WINDOW, 0) : last])
        with_rows = set(frame["date"].unique().to_list())
        previous = {}
        for key in keys:
            position = bisect.bisect_left(self.present, key)
            for before in reversed(self.present[max(position - PREVIOUS_WINDOW, 0) : position]):
                if dt.date.fromisoformat(before) in with_rows:
                    previous[dt.date.fromisoformat(key)] = dt.date.fromisoformat(before)
                    break
        wanted = [dt.date.fromisoformat(key) for key in keys]
        bars = frame.filter(pl.col("date").is_in(wanted))
        listed = pl.concat(
            [self.listing_on(day).with_columns(date=pl.lit(day, dtype=pl.Date)) for day in wanted]
        )
        before = pl.DataFrame(
            {"date": list(previous), "previous": list(previous.values())},
            schema={"date": pl.Date, "previous": pl.Date},
        ).join(
            frame.select(
                pl.col("date").alias("previous"), "symbol", pl.col("volume").alias("prev_volume")
            ),
            on="previous",
        )
        bars = bars.join(listed, on=["date", "symbol"], how="left").join(
            before.drop("previous"), on=["date", "symbol"], how="left"
        )
        counts = dict(bars.group_by("date").len().iter_rows())
        return Derived(derive_rankings(bars), {d: counts.get(d, 0) for d in wanted}, missing)

    def listing_on(self, day: dt.date) -> pl.DataFrame:
        """symbol, name, market, listed_shares on `day`: the nearest `symbols` snapshot (newest
        on or before the day, else the oldest), shares moved across splits in between."""
        if not self.snapshots:
            return pl.DataFrame(schema=LISTING_SCHEMA)
        older = self.snapshots[: bisect.bisect_right(self.snapshots, day.isoformat())]
        snapshot = older[-1] if older else self.snapshots[0]
        if snapshot not in self._listings:
            self._listings[snapshot] = self.warehouse.read("symbols", [snapshot]).select(
                *LISTING_SCHEMA
            )
        listing = self._listings[snapshot]
        snapshot_day = dt.date.fromisoformat(snapshot)
        if snapshot_day == day:
            return listing
        low, high = sorted((snapshot_day, day))
        splits = self.splits().filter(pl.col("date").is_between(low, high))
        if splits.is_empty():
            return listing
        adjusted = [
            shares_on(shares, snapshot_day, day, splits.filter(pl.col("symbol") == symbol))
            if shares is not None
            else None
            for symbol, shares in listing.select("symbol", "listed_shares").iter_rows()
        ]
        return listing.with_columns(pl.Series("listed_shares", adjusted, dtype=pl.Int64))

    def splits(self) -> pl.DataFrame:
        """Every split day in `daily_prices` (date, symbol, split_ratio): one scan per run."""
        if self._splits is None:
            self._splits = self.warehouse.select(PRICES, "split_ratio > 0").select(
                "date", "symbol", "split_ratio"
            )
        return self._splits
