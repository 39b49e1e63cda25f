"""Lake upkeep with DuckLake's own functions; run daily by the `warehouse_maintenance` asset.

In order, each table by table so a busy writer of one table holds up no other:
1. flush the rows DuckLake kept in the catalog (small writes, data inlining) into files,
2. rewrite files that lost rows to a replaced partition (`ducklake_rewrite_data_files`, at
   any share of deleted rows: a merged year file otherwise never merges again),
3. merge each partition's small files into few large sorted ones (`ducklake_merge_adjacent_files`):
   a daily table ends with O(years) files, not O(days),
4. expire snapshots older than `SNAPSHOT_RETENTION` (time travel reaches back that far),
5. delete the files no snapshot needs any more, and files no catalog entry names (a writer killed
   before its commit), once they are older than `FILE_GRACE` so a query or a commit under way
   never loses one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from kis_pipeline.warehouse.lake import ALIAS, METADATA
from kis_pipeline.warehouse.store import Warehouse

# A backtest must be reproducible against what the warehouse said: a month of snapshots covers
# the D+1 re-pulls and the restatements a research question asks about, at the cost of keeping
# a month of replaced files (a few percent of the lake for daily data).
SNAPSHOT_RETENTION = dt.timedelta(days=30)
# Longer than any query or write transaction runs.
FILE_GRACE = dt.timedelta(hours=1)


@dataclass
class MaintenanceResult:
    files_before: dict[str, int] = field(default_factory=dict)
    files_after: dict[str, int] = field(default_factory=dict)
    snapshots_expired: int = 0
    files_deleted: int = 0
    orphans_deleted: int = 0
    snapshot: int = 0

    def summary(self) -> str:
        before, after = sum(self.files_before.values()), sum(self.files_after.values())
        return (
            f"{len(self.files_after)} table(s): {before} -> {after} data files; "
            f"{self.snapshots_expired} snapshot(s) expired, {self.files_deleted} old and "
            f"{self.orphans_deleted} orphaned file(s) deleted"
        )


def day_cutoff(moment: dt.datetime) -> dt.datetime:
    """The last instant of the UTC day before `moment`'s: what `older_than` of DuckLake 1.5.5's
    expire and cleanup functions may be given on a SQLite catalog.

    There they compare the catalog's time text ('2026-12-04 08:29:23+00') with the cutoff's,
    rendered '2026-12-04T07:29:23', as text: every time of the cutoff's own day sorts before it,
    so a cutoff one hour ago deleted the files scheduled a minute ago. A cutoff at the end of the
    previous day sorts right against every time, so nothing younger than `moment` is touched;
    the price is that the retention is kept up to one day longer.
    """
    midnight = dt.datetime.combine(moment.astimezone(dt.UTC).date(), dt.time(), tzinfo=dt.UTC)
    return midnight - dt.timedelta(microseconds=1)


def file_counts(warehouse: Warehouse) -> dict[str, int]:
    """Live data files per table."""
    frame = warehouse.query(
        f"SELECT i.table_name, i.file_count FROM ducklake_table_info('{ALIAS}') i "
        f"JOIN {METADATA}.ducklake_schema s ON s.schema_id = i.schema_id "
        "AND s.end_snapshot IS NULL WHERE s.schema_name = 'main'"
    )
    return dict(zip(frame["table_name"].to_list(), frame["file_count"].to_list(), strict=True))


def maintain(
    warehouse: Warehouse,
    *,
    retention: dt.timedelta = SNAPSHOT_RETENTION,
    grace: dt.timedelta = FILE_GRACE,
    now: dt.datetime | None = None,
) -> MaintenanceResult:
    now = now or dt.datetime.now(dt.UTC)
    result = MaintenanceResult(files_before=file_counts(warehouse))
    for table in warehouse.tables():
        for call in (
            f"CALL ducklake_flush_inlined_data('{ALIAS}', table_name => '{table}')",
            f"CALL ducklake_rewrite_data_files('{ALIAS}', '{table}', delete_threshold => 0)",
            f"CALL ducklake_merge_adjacent_files('{ALIAS}', '{table}')",
        ):
            warehouse.run(call, what=f"maintenance of {table}")
    expired = warehouse.run(
        f"CALL ducklake_expire_snapshots('{ALIAS}', older_than => ?::TIMESTAMPTZ)",
        [day_cutoff(now - retention)],
        what="expiring snapshots",
    )
    result.snapshots_expired = len(expired)
    old = warehouse.run(
        f"CALL ducklake_cleanup_old_files('{ALIAS}', older_than => ?::TIMESTAMPTZ)",
        [day_cutoff(now - grace)],
        what="deleting old files",
    )
    result.files_deleted = len(old)
    orphans = warehouse.run(
        f"CALL ducklake_delete_orphaned_files('{ALIAS}', older_than => ?::TIMESTAMPTZ)",
        [now - grace],
        what="deleting orphaned files",
    )
    result.orphans_deleted = len(orphans)
    result.files_after = file_counts(warehouse)
    result.snapshot = warehouse.snapshot()
    return result
