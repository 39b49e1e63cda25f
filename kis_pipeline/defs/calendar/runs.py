"""How a run of a per-day KIS asset starts: skipped in paper where KIS's mock lacks the
endpoint, else its warehouse, its days (closed ones need no call), the symbols it is limited
to and the progress it publishes."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from kis_pipeline.defs.calendar.sessions import DayPlan, plan_days
from kis_pipeline.defs.calendar.writing import skipped_in_paper
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.lib.progress import Progress
from kis_pipeline.lib.run_context import partition_days, progress_dir, selected_symbols
from kis_pipeline.warehouse import Warehouse


@dataclass(frozen=True)
class DailyRun:
    warehouse: Warehouse
    days: DayPlan
    only: tuple[str, ...] | None
    progress: Progress


def start_daily_run(
    context: dg.AssetExecutionContext,
    kis: KisResource,
    warehouse: WarehouseResource,
    table: str,
    endpoint: str,
    checks: list[str],
) -> DailyRun | dg.MaterializeResult:
    """The run's start, or the result that skips it in paper (`skipped_in_paper`)."""
    settings = kis.settings()
    paper = skipped_in_paper(context, settings.env, table, endpoint, checks)
    if paper is not None:
        return paper
    wh = warehouse.warehouse()
    days = plan_days(wh, partition_days(context), table=table)
    only = selected_symbols(context, settings.symbols)
    progress = Progress(progress_dir(context), table, partitions_total=len(days.days))
    return DailyRun(wh, days, only, progress)
