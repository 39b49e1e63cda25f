"""Daily compaction of the tick tables: each day's segment pieces into one file per table.

During the day every sealed segment adds one small Parquet piece per table. `tick_compaction`
(partitioned by KST day) rewrites each day up to and including its partition into one file per
table sorted by (symbol, ts) (`Warehouse.compact(grain="day")`), retiring the pieces; the DuckDB
views list whatever is live, so a compacted day and today's pieces read as one table. It runs
hourly during the session (so queries over today stay fast) and once after the close; it is
idempotent, and a segment rerun after compaction still replaces only its own rows.

It also purges done segments from the spool once they are older than SPOOL_RETENTION_S.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from kis_pipeline.defs.partitions import HISTORY_START, KST
from kis_pipeline.defs.resources import WarehouseResource
from kis_pipeline.defs.schedules import scheduled_day
from kis_pipeline.streaming.spool import Spool
from kis_pipeline.streaming.tables import COMPACTED_TABLES

SPOOL_RETENTION_S = 3 * 86_400.0

tick_days = dg.DailyPartitionsDefinition(
    start_date=HISTORY_START, timezone=KST, end_offset=1, fmt="%Y-%m-%d"
)


@dg.asset(
    partitions_def=tick_days,
    group_name="ticks",
    deps=list(COMPACTED_TABLES),
    kinds={"parquet"},
    description="The day's tick pieces merged into one file per table, sorted by (symbol, ts).",
)
def tick_compaction(context, warehouse: WarehouseResource) -> dg.MaterializeResult:
    wh = warehouse.warehouse()
    day = dt.date.fromisoformat(context.partition_key)
    before = day + dt.timedelta(days=1)
    metadata: dict[str, dg.MetadataValue] = {}
    merged = 0
    for table in COMPACTED_TABLES:
        if table not in wh.tables():
            continue
        result = wh.compact(table, before=before, grain="day", refresh=False)
        merged += result.groups
        metadata[f"{table}_files"] = dg.MetadataValue.text(
            f"{result.files_before} -> {result.files_after}"
        )
    if merged:
        wh.refresh_catalog()
    purged = Spool.for_warehouse(wh.root).purge_done(SPOOL_RETENTION_S)
    metadata["days_merged"] = dg.MetadataValue.int(merged)
    metadata["done_segments_purged"] = dg.MetadataValue.int(purged)
    context.log.info(f"compacted {merged} (table, day) group(s) up to {day}; purged {purged}")
    return dg.MaterializeResult(metadata=metadata)


tick_compaction_job = dg.define_asset_job(
    "tick_compaction_job", selection=[tick_compaction], partitions_def=tick_days
)


@dg.schedule(
    job=tick_compaction_job,
    cron_schedule="5 10-16,20 * * *",
    execution_timezone=KST,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly during the session and once at 20:05 KST: compact today's tick pieces.",
)
def tick_compaction_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    moment = context.scheduled_execution_time
    day = scheduled_day(context).isoformat()
    return dg.RunRequest(run_key=f"tick-compaction-{moment:%Y%m%dT%H%M}", partition_key=day)
