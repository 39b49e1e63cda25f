"""The Parquet warehouse and its DuckDB catalog; plain Python, no Dagster imports."""

from kis_pipeline.warehouse.catalog import connect
from kis_pipeline.warehouse.store import (
    CompactResult,
    SchemaMismatch,
    Scope,
    Warehouse,
    WarehouseError,
    WriteResult,
    conform,
)
from kis_pipeline.warehouse.tables import TABLES, TableSpec, register_table

__all__ = [
    "TABLES",
    "CompactResult",
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

# The tick tables live with the code that fills them; registering them here means every
# process that opens the warehouse (sql, notebooks, Dagster runs) knows them.
import kis_pipeline.streaming.tables  # noqa: F401
