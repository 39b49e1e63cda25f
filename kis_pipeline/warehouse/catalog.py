"""The DuckDB catalog `kis.duckdb`: one view per table over exactly its live Parquet files.

The catalog is rebuilt in a new file and renamed into place, so the pipeline never holds
DuckDB's write lock on it: a notebook (or the DuckDB CLI) can keep it open, and simply sees the
new tables and files when it reconnects. It is written with storage version v1.0.0 so that the
1.x DuckDB command line can open it too.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from kis_pipeline.kis.state import file_lock
from kis_pipeline.warehouse.tables import LATEST_VIEWS, TABLES

if TYPE_CHECKING:
    from kis_pipeline.warehouse.store import Warehouse

STORAGE_VERSION = "v1.0.0"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def view_sql(name: str, files: list[Path], *, by_name: bool = False) -> str:
    """The view of a table over its files; `by_name` when some files lack a column (reading by
    name costs a look at every file's footer, so only then)."""
    listed = ", ".join(_quote(str(f.resolve())) for f in files)
    options = ", union_by_name = true" if by_name else ""
    return f'CREATE VIEW "{name}" AS SELECT * FROM read_parquet([{listed}]{options})'


def latest_sql(view: str, table: str) -> str:
    return (
        f'CREATE VIEW "{view}" AS SELECT * EXCLUDE (_newest) FROM ('
        f"SELECT *, row_number() OVER (PARTITION BY symbol, period, period_type "
        f'ORDER BY as_of DESC) AS _newest FROM "{table}") WHERE _newest = 1'
    )


def build_catalog(warehouse: Warehouse) -> Path:
    """Rebuild `kis.duckdb` from the manifests and swap it in atomically."""
    target = warehouse.catalog_path
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target.with_name(".kis.duckdb.lock")):
        tmp = target.with_name(f".kis.duckdb.{uuid.uuid4().hex[:8]}.tmp")
        try:
            con = duckdb.connect(":memory:")
            try:
                con.execute(
                    f"ATTACH {_quote(str(tmp))} AS catalog (STORAGE_VERSION '{STORAGE_VERSION}')"
                )
                con.execute("USE catalog")
                present = []
                for table in warehouse.tables():
                    files = warehouse.live_files(table)
                    if files:
                        by_name = table in TABLES and warehouse.has_older_files(table)
                        con.execute(view_sql(table, files, by_name=by_name))
                        present.append(table)
                for view, table in LATEST_VIEWS.items():
                    if table in present:
                        con.execute(latest_sql(view, table))
                con.execute("USE memory")
                con.execute("DETACH catalog")
            finally:
                con.close()
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            with contextlib.suppress(FileNotFoundError):
                Path(f"{tmp}.wal").unlink()
    return target


def connect(warehouse: Warehouse) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the catalog (built first if it does not exist yet)."""
    if not warehouse.catalog_path.exists():
        build_catalog(warehouse)
    return duckdb.connect(str(warehouse.catalog_path), read_only=True)
