"""What a consistent lake looks like after a crash: every file the catalog lists reads whole, and
once maintenance has run (with no grace), no file is on disk that the catalog does not list."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from kis_pipeline.warehouse import Warehouse
from kis_pipeline.warehouse.maintenance import maintain


def listed_files(wh: Warehouse) -> set[Path]:
    frame = wh.query(
        "SELECT s.schema_name, t.table_name FROM __ducklake_metadata_lake.ducklake_table t "
        "JOIN __ducklake_metadata_lake.ducklake_schema s USING (schema_id) "
        "WHERE t.end_snapshot IS NULL"
    )
    found: set[Path] = set()
    for schema, table in frame.iter_rows():
        files = wh.query(
            "SELECT data_file, delete_file FROM ducklake_list_files('lake', ?, schema => ?)",
            [table, schema],
        )
        for data, delete in files.iter_rows():
            found.add(Path(data))
            if delete:
                found.add(Path(delete))
    return found


def assert_lake_whole(wh: Warehouse) -> None:
    listed = listed_files(wh)
    for path in listed:
        pl.read_parquet(path)  # raises on a half-written file
    maintain(wh, grace=dt.timedelta(0))
    data = wh.lake.local_data
    assert data is not None
    on_disk = set(data.rglob("*.parquet"))
    listed = listed_files(wh)
    # Files the merge replaced today wait for a cleanup past the end of the day (DuckLake
    # 1.5.5 compares cutoffs as text: `maintenance.day_cutoff`); they are no orphans.
    scheduled = {
        Path(p).name
        for (p,) in wh.query(
            "SELECT path FROM __ducklake_metadata_lake.ducklake_files_scheduled_for_deletion"
        ).iter_rows()
    }
    assert listed <= on_disk, sorted(listed - on_disk)
    stray = {p for p in on_disk - listed if p.name not in scheduled}
    assert not stray, sorted(stray)
