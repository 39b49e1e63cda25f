"""The warehouse: tables in a DuckLake (Parquet files + a SQL catalog); plain Python, no Dagster."""

from kis_pipeline.warehouse.batch import Batch, Scope, WriteResult
from kis_pipeline.warehouse.checks import conform
from kis_pipeline.warehouse.errors import SchemaMismatch, WarehouseError
from kis_pipeline.warehouse.lake import LakeConfig, LakeError
from kis_pipeline.warehouse.store import Warehouse
from kis_pipeline.warehouse.tables import TABLES, Layout, TableSpec, register_table

__all__ = [
    "TABLES",
    "Batch",
    "LakeConfig",
    "LakeError",
    "Layout",
    "SchemaMismatch",
    "Scope",
    "TableSpec",
    "Warehouse",
    "WarehouseError",
    "WriteResult",
    "conform",
    "connect",
    "register_table",
]


def connect(
    warehouse: Warehouse, *, snapshot: int | None = None, as_of: str | None = None
) -> "duckdb.DuckDBPyConnection":  # noqa: F821
    """A read-only connection to the lake with its tables by plain name (optionally as it was at
    a snapshot or a time): what `kis-pipeline sql`, notebooks and tests read through. A
    declared table that was never written reads as empty (`placeholders`)."""
    from kis_pipeline.warehouse import lake
    from kis_pipeline.warehouse.placeholders import add_placeholders

    con = lake.connect(warehouse.lake, read_only=True, snapshot=snapshot, as_of=as_of)
    return add_placeholders(con)
