"""Large writes as Parquet files that polars writes and the transaction adds to the lake."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import duckdb
import polars as pl

from kis_pipeline.warehouse.lake import ALIAS
from kis_pipeline.warehouse.tables import TableSpec, layout_of


class ParquetFiles:
    """Large writes as Parquet files written by polars and added to the lake in the transaction
    (`ducklake_add_data_files`): polars writes a file several times faster than DuckDB's INSERT
    into a sorted lake table, which is what tick persistence spends its time on. A file is in
    the table's partition folder, sorted by its layout, with its row groups; an attempt that
    fails removes its files (and maintenance any a killed process left)."""

    def __init__(self, data: Path | None) -> None:
        self.data = data
        self.written: list[Path] = []

    def add(self, cur: duckdb.DuckDBPyConnection, spec: TableSpec, rows: pl.DataFrame) -> bool:
        """Write `rows` as files and add them to `spec`'s table; False when they should be
        inserted instead (few rows, a remote data path, a layout without a folder rule)."""
        layout = layout_of(spec)
        folder = _folder_expr(layout.partitioned_by, spec.schema)
        if self.data is None or folder is None or rows.height < DIRECT_ROWS:
            return False
        table_dir = self.data / "main" / spec.name
        pieces = rows.with_columns(folder.alias("_folder")).partition_by("_folder", as_dict=True)
        for (name,), piece in pieces.items():
            path = table_dir / str(name) / f"kis-{uuid.uuid4()}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            self.written.append(path)
            piece.drop("_folder").sort(list(layout.sort(spec))).write_parquet(
                path, compression="zstd", statistics=True, row_group_size=layout.row_group_size
            )
            cur.execute(f"CALL ducklake_add_data_files('{ALIAS}', ?, ?)", [spec.name, str(path)])
        return True

    def discard(self) -> None:
        for path in self.written:
            path.unlink(missing_ok=True)
        self.written = []


# Below this many rows a write goes through DuckDB's INSERT (and DuckLake may inline it).
DIRECT_ROWS = 10_000
_YEAR = re.compile(r"^year\((\w+)\)$")


def _folder_expr(partitioned_by: tuple[str, ...], schema: pl.Schema) -> pl.Expr | None:
    """The Hive folder of each row under the layout's partitioning, as DuckLake names it."""
    if len(partitioned_by) != 1:
        return None
    found = _YEAR.match(partitioned_by[0])
    if found:
        return pl.format("year={}", pl.col(found.group(1)).dt.year())
    column = partitioned_by[0]
    if schema.get(column) == pl.Date:
        return pl.format(f"{column}={{}}", pl.col(column).dt.strftime("%Y-%m-%d"))
    return None
