"""Keeping `daily_prices_adjusted` continuous when a split (or another basis reset) happens.

Adjusted prices are "as of" the day they were fetched: after a split every earlier adjusted
bar of the symbol changes. A run therefore compares, for each symbol, the newest stored
adjusted row before the days it wrote with the first row it wrote: the factor ratio across
that boundary must be the split ratio of the first day (or 1). Where it is not, the symbol's
stored history before the boundary is fetched again with the adjusted chart (100 days a call),
and the caller replaces its rows in those partitions with what `restate` returns. A rerun
finds the boundary consistent and spends nothing.

On the nightly run the suspects come cheaply from the multi-quote (base price != previous
close), and the chart row fetched for them carries the flags that confirm the event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from kis_pipeline.ingest.adjusted_factor import factor_breaks
from kis_pipeline.ingest.daily_chart import plan_windows
from kis_pipeline.ingest.daily_prices import ADJUSTED, RAW
from kis_pipeline.kis import schemas
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.prices import fetch_daily_chart
from kis_pipeline.kis.errors import KisError
from kis_pipeline.warehouse import Warehouse


@dataclass(frozen=True)
class Replacement:
    """The fresh adjusted rows of `symbols` on `day`: they replace those symbols' stored rows."""

    day: dt.date
    symbols: list[str]
    rows: pl.DataFrame


@dataclass
class Restatement:
    symbols: list[str] = field(default_factory=list)
    replacements: list[Replacement] = field(default_factory=list)
    calls: int = 0
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def partitions(self) -> int:
        return len(self.replacements)


def _scan(warehouse: Warehouse, table: str, symbols: Sequence[str]) -> pl.LazyFrame | None:
    """The stored rows of `symbols` in `table`, or None when the table has none yet."""
    if table not in warehouse.tables():
        return None
    return warehouse.select(
        table, "symbol IN (SELECT unnest(?::VARCHAR[]))", [sorted(set(symbols))]
    ).lazy()


def boundary_breaks(warehouse: Warehouse, written: pl.DataFrame, raw: pl.DataFrame) -> list[str]:
    """Symbols whose stored adjusted history before `written` is on another basis."""
    if written.is_empty():
        return []
    first_day = written["date"].min()
    stored = _scan(warehouse, ADJUSTED, written["symbol"].unique().to_list())
    if stored is None:
        return []
    before = (
        stored.filter(pl.col("date") < first_day)
        .filter(pl.col("symbol").is_in(written["symbol"].unique().to_list()))
        .sort("date")
        .group_by("symbol")
        .last()
        .select("date", "symbol", "adj_factor")
        .collect()
    )
    if before.is_empty():
        return []
    first = written.sort("date").group_by("symbol").first().select("date", "symbol", "adj_factor")
    pairs = pl.concat([before, first], how="vertical")
    return sorted(set(factor_breaks(pairs, raw)["symbol"].to_list()))


def restate(
    client: KisClient,
    warehouse: Warehouse,
    symbols: Sequence[str],
    *,
    before: dt.date,
    market: str = "J",
) -> Restatement:
    """Fetch the stored adjusted history (< `before`) of `symbols` again, one replacement per
    stored partition it touches."""
    outcome = Restatement()
    stored = _scan(warehouse, ADJUSTED, symbols)
    if stored is None or not symbols:
        return outcome
    history = (
        stored.filter(pl.col("symbol").is_in(list(symbols)) & (pl.col("date") < before))
        .select("date", "symbol")
        .unique()
        .collect()
    )
    raw_scan = _scan(warehouse, RAW, symbols)
    fresh: list[pl.DataFrame] = []
    calls_before = client.stats.calls
    for symbol in sorted(set(history["symbol"].to_list())):
        days = history.filter(pl.col("symbol") == symbol)["date"].to_list()
        try:
            for window in plan_windows(days):
                original = None
                if raw_scan is not None:
                    original = (
                        raw_scan.filter(
                            (pl.col("symbol") == symbol)
                            & pl.col("date").is_between(window.start, window.end)
                        )
                        .collect()
                        .select(list(schemas.DAILY_PRICES))
                    )
                    if original.height < len(window.days):
                        original = None
                fresh.append(
                    fetch_daily_chart(
                        client,
                        symbol,
                        window.start,
                        window.end,
                        adjusted=True,
                        market=market,
                        original=original,
                    )
                )
        except KisError as exc:
            outcome.failures[symbol] = f"restating history: {type(exc).__name__}: {exc}"
            continue
        outcome.symbols.append(symbol)
    outcome.calls = client.stats.calls - calls_before
    if not fresh:
        return outcome
    replacement = pl.concat(fresh, how="vertical").filter(pl.col("symbol").is_in(outcome.symbols))
    touched = history.filter(pl.col("symbol").is_in(outcome.symbols))
    for (day,), group in touched.partition_by("date", as_dict=True).items():
        names = group["symbol"].to_list()
        rows = replacement.filter((pl.col("date") == day) & pl.col("symbol").is_in(names))
        outcome.replacements.append(Replacement(day, names, rows))
    return outcome
