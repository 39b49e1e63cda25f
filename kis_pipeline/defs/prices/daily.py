"""Writing range backfills of `daily_prices` and `daily_prices_adjusted`.

`ingest.daily_prices` plans the range and fetches it window by window; here each window's bars
are split into one partition per trading day and written while the next window is fetched. A
symbol that fails keeps whatever its window's partitions held and is reported with its KIS
error; the run then fails (so Dagster records none of its partitions), and a rerun fetches only
what is not in the cache. A run restricted to some symbols replaces only their rows (`Scope`).

`WriteReport`, `write_days` and `report_metadata` serve every price table, overseas included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import dagster as dg
import polars as pl

from kis_pipeline.ingest.daily_chart import ChartCache
from kis_pipeline.ingest.daily_prices import ADJUSTED, RAW, fetch_windows, plan_range
from kis_pipeline.ingest.reference import Universe
from kis_pipeline.ingest.restate import Restatement
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

__all__ = ["ADJUSTED", "RAW"]


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
    plan = plan_range(universe, partitions, open_days)
    report.trading_days = len(plan.trading)
    report.symbols = plan.symbols
    report.calls_planned = plan.calls_planned
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
        plan.closed,
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
        for bars in fetch_windows(client, warehouse, cache, plan, table=table, on_done=tick):
            report.cache_hits += bars.cache_hits
            for symbol, error in bars.failures.items():
                report.failures.setdefault(symbol, f"window {bars.window.name}: {error}")
            pending.append(
                writer.submit(
                    write_days,
                    warehouse,
                    table,
                    bars.frame,
                    bars.window.days,
                    report,
                    listed=plan.listed.__getitem__,
                    # A symbol whose window failed keeps the rows it had in these days.
                    scope=scope.keeping(bars.failures),
                    progress=progress,
                )
            )
            # A failed write stops the run now rather than after every window is fetched.
            for future in [f for f in pending if f.done()]:
                future.result()
    finally:
        writer.shutdown(wait=True)
    for future in pending:
        future.result()
    return report


def write_restatement(warehouse: Warehouse, restated: Restatement) -> None:
    """Replace the restated symbols' rows in each adjusted partition their history touched."""
    for part in restated.replacements:
        warehouse.write_partition(
            ADJUSTED, part.day.isoformat(), part.rows, scope=Scope.of(part.symbols)
        )


def client_progress(client: KisClient) -> dict[str, object]:
    """The client's counters as `Progress` fields (data calls only, without token issuance)."""
    snap = client.stats.snapshot()
    return {
        "calls": data_calls(snap),
        "retries": snap["retries"],
        "limiter_wait_s": snap["limiter_wait_s"],
    }
