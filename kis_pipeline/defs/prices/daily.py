"""Range backfills of `daily_prices` and `daily_prices_adjusted` from the daily chart.

The range's weekday partitions are split by the calendar into closed days (an empty partition,
no call) and trading days, which are cut into 100-day windows (`chart.plan_windows`). Window by
window, every listed symbol is fetched (cache first), and the bars are split into one partition
per trading day. A symbol that fails keeps whatever its window's partitions held and is
reported with its KIS error; the run then fails (so Dagster records none of its partitions),
and a rerun fetches only what is not in the cache. A run restricted to some symbols replaces
only their rows (`Scope`).

`WriteReport`, `write_days` and `report_metadata` serve every price table, overseas included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import dagster as dg
import polars as pl

from kis_pipeline.defs.prices.chart import (
    ChartCache,
    Window,
    concat,
    fetch_window,
    plan_windows,
)
from kis_pipeline.defs.prices.reference import Universe
from kis_pipeline.kis.client import KisClient
from kis_pipeline.lib.metadata import (
    client_metadata,
    data_calls,
    frame_metadata,
    metadata_value,
    snapshot_metadata,
)
from kis_pipeline.lib.progress import Progress
from kis_pipeline.warehouse import TABLES, Scope, Warehouse

RAW = "daily_prices"
ADJUSTED = "daily_prices_adjusted"


@dataclass
class WriteReport:
    """What a run wrote and what it cost."""

    table: str
    partitions: list[str] = field(default_factory=list)
    trading_days: int = 0
    symbols: int = 0
    calls_planned: int = 0
    rows: int = 0
    bytes: int = 0
    cache_hits: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    notes: dict[str, object] = field(default_factory=dict)
    preview: pl.DataFrame | None = None
    snapshot: int | None = None  # the newest lake snapshot this run committed

    def record(
        self, written_rows: int, written_bytes: int, partition: str, snapshot: int | None = None
    ) -> None:
        self.rows += written_rows
        self.bytes += written_bytes
        self.partitions.append(partition)
        if snapshot is not None:
            self.snapshot = max(self.snapshot or 0, snapshot)


def write_days(
    warehouse: Warehouse,
    table: str,
    frame: pl.DataFrame,
    days: Sequence[dt.date],
    report: WriteReport,
    *,
    listed: Callable[[dt.date], Sequence[str]] | None = None,
    scope: Scope | None = None,
    progress: Progress | None = None,
) -> None:
    """One partition per day of `days` from `frame` (rows of other days are ignored), or only
    the rows `scope` names; `listed(day)` restricts a day to the symbols listed that day."""
    spec = TABLES[table]
    by_day = frame.partition_by("date", as_dict=True) if not frame.is_empty() else {}
    frames = {}
    for day in days:
        part = by_day.get((day,), pl.DataFrame(schema=spec.schema))
        if listed is not None and not part.is_empty():
            part = part.filter(pl.col("symbol").is_in(list(listed(day))))
        frames[day.isoformat()] = part
    # One lake transaction for the run's days: one catalog commit, not one per day.
    for result in warehouse.write_partitions(table, frames, scope=scope):
        report.record(result.rows, result.bytes, result.partition, result.snapshot)
        if progress is not None:
            progress.add(partitions_done=1, rows=result.rows, bytes=result.bytes)
    if report.preview is None and not frame.is_empty():
        report.preview = frame.sort(list(spec.key)).head(5)


def report_metadata(
    report: WriteReport, client: KisClient, **counts: int
) -> dict[str, dg.MetadataValue]:
    """Materialization metadata of a price run: the client's calls against the plan, what was
    written with a preview, `counts`, the failed symbols and the report's notes."""
    preview = report.preview if report.preview is not None else pl.DataFrame()
    meta = {
        **client_metadata(client, planned_calls=report.calls_planned),
        **frame_metadata(preview, bytes_written=report.bytes),
        "rows": dg.MetadataValue.int(report.rows),
        "partitions_written": dg.MetadataValue.int(len(report.partitions)),
        **{name: dg.MetadataValue.int(count) for name, count in counts.items()},
        "cache_hits": dg.MetadataValue.int(report.cache_hits),
        "failed_symbols": dg.MetadataValue.json(report.failures),
        **snapshot_metadata(report.snapshot),
    }
    for name, value in report.notes.items():
        meta[name] = metadata_value(value)
    return meta


def backfill_range(
    client: KisClient,
    warehouse: Warehouse,
    cache: ChartCache,
    universe: Universe,
    partitions: Sequence[dt.date],
    open_days: set[dt.date],
    *,
    table: str,
    progress: Progress,
) -> WriteReport:
    """Fetch `table` for every weekday in `partitions` with the daily chart; write each day
    (only the rows of the universe's `only` symbols, when it has them)."""
    scope = Scope.of(universe.only)
    report = WriteReport(table)
    trading = sorted(d for d in partitions if d in open_days)
    closed = sorted(d for d in partitions if d not in open_days)
    windows = plan_windows(trading)
    listed = {day: universe.on(day) for day in trading}
    window_symbols = [sorted({s for day in w.days for s in listed[day]}) for w in windows]
    report.trading_days = len(trading)
    report.symbols = len({s for symbols in window_symbols for s in symbols})
    report.calls_planned = sum(len(symbols) for symbols in window_symbols)
    progress.update(
        force=True,
        partitions_total=len(partitions),
        calls_planned=report.calls_planned,
        symbols=report.symbols,
    )

    # Closed days first: they need no call, and the progress bar moves at once.
    write_days(
        warehouse,
        table,
        pl.DataFrame(schema=TABLES[table].schema),
        closed,
        report,
        scope=scope,
        progress=progress,
    )

    def tick() -> None:
        progress.update(**client_progress(client))

    # Partitions of a window are written while the next window is fetched, so the limiter's
    # slots are not left unused during the writes; one writer keeps the report single-threaded.
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="partition-writer")
    pending: list[Future[None]] = []
    try:
        _fetch_windows(
            client,
            warehouse,
            cache,
            windows,
            window_symbols,
            listed,
            table,
            scope,
            report,
            progress,
            tick,
            writer,
            pending,
        )
    finally:
        writer.shutdown(wait=True)
    for future in pending:
        future.result()
    return report


def _fetch_windows(
    client: KisClient,
    warehouse: Warehouse,
    cache: ChartCache,
    windows: Sequence[Window],
    window_symbols: Sequence[Sequence[str]],
    listed: dict[dt.date, list[str]],
    table: str,
    scope: Scope,
    report: WriteReport,
    progress: Progress,
    tick: Callable[[], None],
    writer: ThreadPoolExecutor,
    pending: list[Future[None]],
) -> None:
    adjusted = table == ADJUSTED
    for window, symbols in zip(windows, window_symbols, strict=True):
        outcome = fetch_window(
            client,
            cache,
            symbols,
            window,
            adjusted=adjusted,
            original=_raw_bars(warehouse, cache, window) if adjusted else None,
            on_done=tick,
        )
        report.cache_hits += outcome.cache_hits
        for symbol, error in outcome.failures.items():
            report.failures.setdefault(symbol, f"window {window.name}: {error}")
        frame = concat(outcome.frames, TABLES[table].schema)
        pending.append(
            writer.submit(
                write_days,
                warehouse,
                table,
                frame,
                window.days,
                report,
                listed=listed.__getitem__,
                # A symbol whose window failed keeps the rows it had in these days.
                scope=scope.keeping(outcome.failures),
                progress=progress,
            )
        )
        # A failed write stops the run now rather than after every window is fetched.
        for future in [f for f in pending if f.done()]:
            future.result()


def _raw_bars(
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


def client_progress(client: KisClient) -> dict[str, object]:
    """The client's counters as `Progress` fields (data calls only, without token issuance)."""
    snap = client.stats.snapshot()
    return {
        "calls": data_calls(snap),
        "retries": snap["retries"],
        "limiter_wait_s": snap["limiter_wait_s"],
    }
