"""How a run of a per-day KIS asset starts: skipped in paper where KIS's mock lacks the
endpoint, else its warehouse, its days (closed ones need no call), the symbols it is limited
to and the progress it publishes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import dagster as dg
import polars as pl

from kis_pipeline.defs.calendar.sessions import DayPlan, plan_days
from kis_pipeline.defs.calendar.writing import skipped_in_paper
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.kis.client import KisClient
from kis_pipeline.lib.progress import Progress
from kis_pipeline.lib.read_ahead import RunScope
from kis_pipeline.lib.run_context import partition_days, progress_dir, selected_symbols
from kis_pipeline.warehouse import Warehouse


@dataclass(frozen=True)
class DailyRun:
    warehouse: Warehouse
    days: DayPlan
    only: tuple[str, ...] | None
    progress: Progress


@dataclass(frozen=True)
class DailyFetch:
    """A run's fetch phase, which may run ahead of its step (`lib.read_ahead`): its days, what
    KIS sent for them, the (date, key) rows expected, the keys KIS refused, the client that
    fetched (None without a call), how many keys it walked, the calls it planned, and a
    one-line note on days it left out (the step logs it)."""

    run: DailyRun
    frame: pl.DataFrame
    expected: pl.DataFrame
    failures: dict[str, str] = field(default_factory=dict)
    client: KisClient | None = None
    keys: int = 0
    calls_planned: int = 0
    note: str = ""

    @classmethod
    def empty(
        cls, run: DailyRun, schema: pl.Schema, keys: Sequence[str], note: str = ""
    ) -> DailyFetch:
        """A run with nothing to fetch: no rows of `schema`, none of the (date, key) `keys`
        expected."""
        expected = pl.DataFrame(schema={c: pl.Date if c == "date" else pl.String for c in keys})
        return cls(run, pl.DataFrame(schema=schema), expected, note=note)


def run_scope(
    context: dg.AssetExecutionContext, kis: KisResource, warehouse: WarehouseResource
) -> RunScope:
    """What every step of the run shares (`lib.read_ahead`)."""
    settings = kis.settings()
    return RunScope(
        days=tuple(partition_days(context)),
        only=selected_symbols(context, settings.symbols),
        progress_dir=progress_dir(context),
        settings=settings,
        client=kis.client,
        warehouse=warehouse.warehouse(),
    )


def daily_run(scope: RunScope, table: str) -> DailyRun:
    """The run of `table` over the scope's days: which to fetch, and its progress."""
    days = plan_days(scope.warehouse, scope.days, table=table)
    progress = Progress(scope.progress_dir, table, partitions_total=len(days.days))
    return DailyRun(scope.warehouse, days, scope.only, progress)


def start_daily_run(
    context: dg.AssetExecutionContext,
    kis: KisResource,
    warehouse: WarehouseResource,
    table: str,
    endpoint: str,
    checks: list[str],
) -> DailyRun | dg.MaterializeResult:
    """The run's start, or the result that skips it in paper (`skipped_in_paper`)."""
    scope = run_scope(context, kis, warehouse)
    paper = skipped_in_paper(context, scope.settings.env, table, endpoint, checks)
    if paper is not None:
        return paper
    return daily_run(scope, table)
