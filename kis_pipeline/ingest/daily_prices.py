"""`daily_prices` and `daily_prices_adjusted` over a range, from the daily chart.

The range's weekday partitions are split by the calendar into closed days (an empty partition,
no call) and trading days, which are cut into 100-day windows (`daily_chart.plan_windows`).
Window by window, every symbol listed on one of its days is fetched (cache first); each window
is handed back as one frame, with the symbols that failed and their KIS error, so that the
caller can write it while the next window is fetched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import polars as pl

from kis_pipeline.ingest.daily_chart import ChartCache, Window, concat, fetch_window, plan_windows
from kis_pipeline.ingest.reference import Universe
from kis_pipeline.kis.client import KisClient
from kis_pipeline.warehouse import TABLES, Warehouse

RAW = "daily_prices"
ADJUSTED = "daily_prices_adjusted"


@dataclass(frozen=True)
class RangePlan:
    """A range's days split into closed days and chart windows, with who is listed when."""

    closed: list[dt.date]
    trading: list[dt.date]
    windows: list[Window]
    window_symbols: list[list[str]]
    listed: dict[dt.date, list[str]]

    @property
    def symbols(self) -> int:
        return len({s for symbols in self.window_symbols for s in symbols})

    @property
    def calls_planned(self) -> int:
        return sum(len(symbols) for symbols in self.window_symbols)


def plan_range(
    universe: Universe, partitions: Sequence[dt.date], open_days: set[dt.date]
) -> RangePlan:
    """One chart call per window and symbol listed on any of the window's days."""
    trading = sorted(d for d in partitions if d in open_days)
    closed = sorted(d for d in partitions if d not in open_days)
    windows = plan_windows(trading)
    listed = {day: universe.on(day) for day in trading}
    window_symbols = [sorted({s for day in w.days for s in listed[day]}) for w in windows]
    return RangePlan(closed, trading, windows, window_symbols, listed)


@dataclass(frozen=True)
class WindowBars:
    """One fetched window: its bars in the table's schema, and the symbols that failed."""

    window: Window
    frame: pl.DataFrame
    failures: dict[str, str]
    cache_hits: int


def fetch_windows(
    client: KisClient,
    warehouse: Warehouse,
    cache: ChartCache,
    plan: RangePlan,
    *,
    table: str,
    on_done: Callable[[], None] | None = None,
) -> Iterator[WindowBars]:
    """The plan's windows of `table`, oldest first, each fetched only when asked for;
    `on_done` runs after every symbol's call."""
    adjusted = table == ADJUSTED
    for window, symbols in zip(plan.windows, plan.window_symbols, strict=True):
        outcome = fetch_window(
            client,
            cache,
            symbols,
            window,
            adjusted=adjusted,
            original=raw_bars(warehouse, cache, window) if adjusted else None,
            on_done=on_done,
        )
        frame = concat(outcome.frames, TABLES[table].schema)
        yield WindowBars(window, frame, outcome.failures, outcome.cache_hits)


def raw_bars(
    warehouse: Warehouse, cache: ChartCache, window: Window
) -> Callable[[str], pl.DataFrame | None]:
    """The raw bars an adjusted window is divided by, without a second chart call.

    The raw cache keeps only final windows; the newest window's raw bars are in the warehouse
    already, because `daily_prices_adjusted` runs after `daily_prices`.
    """
    stored: pl.DataFrame | None = None

    def lookup(symbol: str) -> pl.DataFrame | None:
        nonlocal stored
        cached = cache.load(symbol, window, adjusted=False)
        if cached is not None:
            return cached
        if stored is None:
            stored = warehouse.read(RAW, [d.isoformat() for d in window.days])
        rows = stored.filter(pl.col("symbol") == symbol)
        # Only a complete window can stand in for the chart: otherwise fetch it.
        return rows if rows.height == len(window.days) else None

    return lookup
