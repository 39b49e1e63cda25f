"""`symbols_schedule`: 08:30 KST Monday to Friday, that day's partition.

KIS regenerates the master files early each morning, so before the open they already list the
day's universe, and every later asset of the day finds its snapshot.
"""

from __future__ import annotations

import dagster as dg

from kis_pipeline.defs.calendar.schedules import scheduled_day
from kis_pipeline.defs.partitions import KST
from kis_pipeline.defs.universe.symbols import symbols

symbols_job = dg.define_asset_job(
    "symbols_job",
    selection=dg.AssetSelection.assets(symbols),
    description="The day's master-file snapshot of the listed universe.",
)


@dg.schedule(
    job=symbols_job,
    cron_schedule="30 8 * * 1-5",
    execution_timezone=KST,
    description="Before the open on weekdays: the day's universe.",
)
def symbols_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    day = scheduled_day(context).isoformat()
    return dg.RunRequest(run_key=f"symbols-{day}", partition_key=day)
