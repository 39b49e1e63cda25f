"""Upkeep: the lake's daily maintenance, and old runs deleted.

`warehouse_maintenance` runs DuckLake's own upkeep (warehouse/maintenance.py): small files merged
so a daily table keeps O(years) files, snapshots past their retention expired, files nothing
needs any more deleted. It also purges done tick segments from the spool after
`SPOOL_RETENTION_S`. It is idempotent: a second run finds nothing to do.

Run history retention (old tick persistence runs) is in retention.py.
"""

from __future__ import annotations

import dagster as dg

from kis_pipeline.common.clock import KST_NAME
from kis_pipeline.defs.maintenance.retention import run_retention_job, run_retention_schedule
from kis_pipeline.defs.resources import WarehouseResource
from kis_pipeline.lib.metadata import snapshot_metadata
from kis_pipeline.streaming.spool import Spool
from kis_pipeline.warehouse.maintenance import SNAPSHOT_RETENTION, maintain

SPOOL_RETENTION_S = 3 * 86_400.0


@dg.asset(
    group_name="maintenance",
    kinds={"ducklake"},
    description=(
        "The lake kept small and fast: files merged, snapshots older than "
        f"{SNAPSHOT_RETENTION.days} days expired, unneeded files deleted."
    ),
)
def warehouse_maintenance(context, warehouse: WarehouseResource) -> dg.MaterializeResult:
    wh = warehouse.warehouse()
    result = maintain(wh)
    purged = Spool.for_warehouse(wh.root).purge_done(SPOOL_RETENTION_S)
    context.log.info(f"{result.summary()}; {purged} done segment(s) purged from the spool")
    return dg.MaterializeResult(
        metadata={
            "files": dg.MetadataValue.json(
                {
                    t: f"{result.files_before.get(t, 0)} -> {n}"
                    for t, n in result.files_after.items()
                }
            ),
            "files_after": dg.MetadataValue.int(sum(result.files_after.values())),
            "snapshots_expired": dg.MetadataValue.int(result.snapshots_expired),
            "files_deleted": dg.MetadataValue.int(result.files_deleted + result.orphans_deleted),
            "done_segments_purged": dg.MetadataValue.int(purged),
            **snapshot_metadata(result.snapshot),
        }
    )


warehouse_maintenance_job = dg.define_asset_job(
    "warehouse_maintenance_job", selection=[warehouse_maintenance]
)

warehouse_maintenance_schedule = dg.ScheduleDefinition(
    name="warehouse_maintenance_schedule",
    job=warehouse_maintenance_job,
    cron_schedule="0 5 * * *",
    execution_timezone=KST_NAME,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every morning before the market opens, outside the KIS maintenance window.",
)

defs = dg.Definitions(
    assets=[warehouse_maintenance],
    jobs=[warehouse_maintenance_job, run_retention_job],
    schedules=[warehouse_maintenance_schedule, run_retention_schedule],
)
