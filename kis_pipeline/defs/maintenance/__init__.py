"""Upkeep: closed months of the daily tables merged into one file each, and old runs deleted.

Without it the daily tables gain one file per day forever and every query opens them all
(bench/README.md "DuckDB layout" measures what merging buys). Tick tables compact by day in
the `ticks` domain. The asset is idempotent: a month already in one file is left alone.

Run history retention (old tick persistence runs) is in retention.py.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from kis_pipeline.defs.calendar.sessions import KST, now_kst
from kis_pipeline.defs.maintenance.retention import run_retention_job, run_retention_schedule
from kis_pipeline.defs.resources import WarehouseResource
from kis_pipeline.warehouse import TABLES


def open_month(now: dt.datetime) -> dt.date:
    """The first day of the oldest month still open at `now`; the months before it are closed.

    A month closes one day after its last day in Asia/Seoul, not at midnight: its last
    overseas partition (New York's day, fetched at 07:00 KST) arrives after the 05:00 run.
    """
    return (now.astimezone(KST).date() - dt.timedelta(days=1)).replace(day=1)


@dg.asset(
    group_name="maintenance",
    kinds={"parquet"},
    description="The daily tables with every closed month merged into one sorted file.",
)
def warehouse_compaction(context, warehouse: WarehouseResource) -> dg.MaterializeResult:
    wh = warehouse.warehouse()
    files: dict[str, str] = {}
    merged = 0
    before = open_month(now_kst())
    for table in wh.tables():
        spec = TABLES.get(table)
        if spec is None or spec.compaction != "month" or spec.partition_by != "date":
            continue
        result = wh.compact(table, before=before, grain="month", refresh=False)
        merged += result.groups
        files[table] = f"{result.files_before} -> {result.files_after}"
    if merged:
        wh.refresh_catalog()
    context.log.info(f"merged {merged} closed month(s) across {len(files)} table(s)")
    return dg.MaterializeResult(
        metadata={
            "months_merged": dg.MetadataValue.int(merged),
            "files": dg.MetadataValue.json(files),
        }
    )


warehouse_compaction_job = dg.define_asset_job(
    "warehouse_compaction_job", selection=[warehouse_compaction]
)

warehouse_compaction_schedule = dg.ScheduleDefinition(
    name="warehouse_compaction_schedule",
    job=warehouse_compaction_job,
    cron_schedule="0 5 * * *",
    execution_timezone="Asia/Seoul",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every morning before the market opens, outside the KIS maintenance window.",
)

defs = dg.Definitions(
    assets=[warehouse_compaction],
    jobs=[warehouse_compaction_job, run_retention_job],
    schedules=[warehouse_compaction_schedule, run_retention_schedule],
)
