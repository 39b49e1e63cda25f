"""The SQL of the warehouse's transactions: create or alter a table with its layout, ledger and
views; replace partitions (or pieces, or scoped rows) and record them in the ledger; say what a
snapshot wrote; and tell a lost catalog race from a real failure.

Every table has a ledger, `_kis."<table>"`: one row per partition ever written plus a sentinel
row that every write deletes and re-inserts, so any two concurrent writers of one table conflict
(`warehouse.store` explains why).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from kis_pipeline.warehouse.batch import PendingWrite
from kis_pipeline.warehouse.errors import WarehouseError
from kis_pipeline.warehouse.lake import ALIAS
from kis_pipeline.warehouse.parquet_files import ParquetFiles
from kis_pipeline.warehouse.tables import VIEWS, TableSpec, layout_of

LEDGER_SCHEMA = "_kis"
# The ledger's sentinel: every write deletes and re-inserts it (see the module docstring).
SENTINEL = ""
# The ledger stays in the catalog database (DuckLake's data inlining), not in tiny files.
LEDGER_INLINE_ROWS = 100_000


def ledger(table: str) -> str:
    return f'{LEDGER_SCHEMA}."{table}"'


def partitions_sql(spec: TableSpec, keys: Sequence[str]) -> tuple[str, list[Any]]:
    """The condition selecting the rows of partitions `keys`, and its parameters."""
    column = f'"{spec.partition_column}"'
    if spec.partition_by == "year":
        years = [int(k) for k in keys]
        low, high = min(years), max(years)
        return (
            f"{column} >= ?::DATE AND {column} < ?::DATE AND year({column}) IN "
            "(SELECT unnest(?::INTEGER[]))",
            [f"{low}-01-01", f"{high + 1}-01-01", years],
        )
    if len(keys) == 1:
        return f"{column} = ?::DATE", [keys[0]]
    return (
        f"{column} BETWEEN ?::DATE AND ?::DATE AND {column} IN (SELECT unnest(?::DATE[]))",
        [keys[0], keys[-1], list(keys)],
    )


def write_all(
    cur: duckdb.DuckDBPyConnection,
    writes: list[PendingWrite],
    files: ParquetFiles,
    written_at: dt.datetime,
) -> None:
    """The statements of a batch inside its transaction; the ledger records `written_at`.

    The pieces of one table (tick segments) go in as one INSERT: one Parquet file per table and
    partition instead of one per segment. Whole-partition and scoped writes go one by one, in
    order, so a later one replaces an earlier one of the same partition."""
    by_table: dict[str, list[PendingWrite]] = {}
    for write in writes:
        by_table.setdefault(write.spec.name, []).append(write)
    for group in by_table.values():
        if all(w.part is not None for w in group):
            _replace(cur, group, files, written_at)
        else:
            for write in group:
                _replace(cur, [write], files, written_at)
    _describe(cur, writes)


def _replace(
    cur: duckdb.DuckDBPyConnection,
    writes: list[PendingWrite],
    files: ParquetFiles,
    written_at: dt.datetime,
) -> None:
    """Replace what `writes` (of one table) name with their rows."""
    spec = writes[0].spec
    name = f'"{spec.name}"'
    keys = sorted({key for w in writes for key in w.keys})
    cur.execute(
        f'DELETE FROM {ledger(spec.name)} WHERE "partition" IN (SELECT unnest(?::VARCHAR[]))',
        [[SENTINEL, *keys]],
    )
    if len(writes) > 1:  # pieces: one statement for all of them
        where, params = partitions_sql(spec, keys)
        parts = sorted({str(w.part) for w in writes})
        where = f'({where}) AND "{_part_column(spec)}" IN (SELECT unnest(?::VARCHAR[]))'
        params = [*params, parts]
    else:
        (write,) = writes
        where, params = partitions_sql(spec, write.keys)
        if write.scope is not None:
            condition, extra = write.scope.sql()
            where, params = f"({where}) AND {condition}", [*params, *extra]
        if write.part is not None:
            where, params = f'({where}) AND "{_part_column(spec)}" = ?', [*params, write.part]
    cur.execute(f"DELETE FROM {name} WHERE {where}", params)
    frames = [w.rows for w in writes if w.rows.height]
    rows = pl.concat(frames) if len(frames) > 1 else frames[0] if frames else None
    if rows is not None and not files.add(cur, spec, rows):
        cur.register("_kis_rows", rows.to_arrow())
        try:
            cur.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _kis_rows")
        finally:
            cur.unregister("_kis_rows")
    for write in writes:
        if write.scope is not None and spec.key and write.scope.by not in spec.key:
            # Kept rows and new rows could share a key only if the key does not name `by`.
            within, args = partitions_sql(spec, write.keys)
            dupes = cur.execute(
                f"SELECT count(*) - count(DISTINCT ({', '.join(map(ident, spec.key))})) "
                f"FROM {name} WHERE {within}",
                args,
            ).fetchone()
            if dupes and dupes[0]:
                raise WarehouseError(f"{spec.name}: {dupes[0]} rows would share a key {spec.key}")
    cur.execute(
        f"INSERT INTO {ledger(spec.name)} SELECT unnest(?::VARCHAR[]), ?::TIMESTAMPTZ",
        [[SENTINEL, *keys], written_at],
    )


def _describe(cur: duckdb.DuckDBPyConnection, writes: list[PendingWrite]) -> None:
    """The snapshot's commit message: what it wrote, for people and for `ducklake_snapshots`."""
    said = []
    for write in writes:
        keys = write.keys
        described = keys[0] if len(keys) == 1 else f"{len(keys)} partitions {keys[0]}..{keys[-1]}"
        said.append(
            f"{write.spec.name} {described}" + (f" piece {write.part}" if write.part else "")
        )
    message = said[0] if len(said) == 1 else f"{len(said)} writes: " + "; ".join(said[:5])
    info = [{"table": w.spec.name, "partitions": w.keys, "part": w.part} for w in writes]
    cur.execute(
        f"CALL ducklake_set_commit_message('{ALIAS}', 'kis-pipeline', ?, extra_info => ?)",
        [message, json.dumps(info[0] if len(info) == 1 else info)],
    )


def create_or_alter(cur: duckdb.DuckDBPyConnection, spec: TableSpec) -> None:
    layout = layout_of(spec)
    name = f'"{spec.name}"'
    columns = ", ".join(f"{ident(c)} {sql_type(t)}" for c, t in spec.schema.items())
    cur.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
    present = {
        row[0]
        for row in cur.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = ? "
            "AND schema_name = 'main' AND table_name = ?",
            [ALIAS, spec.name],
        ).fetchall()
    }
    for column, dtype in spec.schema.items():
        if column not in present:
            cur.execute(f"ALTER TABLE {name} ADD COLUMN {ident(column)} {sql_type(dtype)}")
    for statement in layout.statements(spec):
        cur.execute(statement)
    cur.execute(f"CREATE SCHEMA IF NOT EXISTS {LEDGER_SCHEMA}")
    cur.execute(
        f'CREATE TABLE IF NOT EXISTS {ledger(spec.name)} ("partition" VARCHAR, '
        "written_at TIMESTAMPTZ)"
    )
    cur.execute(
        f"INSERT INTO {ledger(spec.name)} SELECT ?, NULL WHERE NOT EXISTS "
        f'(SELECT 1 FROM {ledger(spec.name)} WHERE "partition" = ?)',
        [SENTINEL, SENTINEL],
    )
    for view in VIEWS.values():
        if view.base == spec.name:
            cur.execute(view.sql())


def table_layouts(
    cur: duckdb.DuckDBPyConnection, tables: Sequence[str]
) -> dict[str, tuple[str, set[str]]]:
    """Of the `tables` that exist: each one's comment (the layout it was made with) and columns."""
    rows = cur.execute(
        "SELECT t.table_name, t.comment, list(c.column_name) FROM duckdb_tables() t "
        "JOIN duckdb_columns() c USING (database_name, schema_name, table_name) "
        "WHERE t.database_name = ? AND t.schema_name = 'main' "
        "AND t.table_name IN (SELECT unnest(?::VARCHAR[])) GROUP BY t.table_name, t.comment",
        [ALIAS, list(tables)],
    ).fetchall()
    return {name: (comment, set(columns)) for name, comment, columns in rows}


def table_options(spec: TableSpec) -> list[str]:
    """Statements run after the table exists: its DuckLake options, then its comment."""
    layout = layout_of(spec)
    comment = layout.describe(spec).replace("'", "''")
    return [
        *layout.options(spec),
        f"CALL ducklake_set_option('{ALIAS}', 'data_inlining_row_limit', {LEDGER_INLINE_ROWS}, "
        f"schema => '{LEDGER_SCHEMA}', table_name => '{spec.name}')",
        f"COMMENT ON TABLE \"{spec.name}\" IS '{comment}'",
    ]


def run_all(cur: duckdb.DuckDBPyConnection, statements: Sequence[str]) -> None:
    for statement in statements:
        cur.execute(statement)


_SQL_TYPES: dict[type[pl.DataType], str] = {
    pl.Date: "DATE",
    pl.String: "VARCHAR",
    pl.Int64: "BIGINT",
    pl.Int32: "INTEGER",
    pl.Float64: "DOUBLE",
    pl.Boolean: "BOOLEAN",
}


def sql_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMPTZ" if dtype.time_zone else "TIMESTAMP"
    try:
        return _SQL_TYPES[type(dtype)]
    except KeyError:
        raise WarehouseError(f"no lake column type for polars {dtype}") from None


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def rollback(cur: duckdb.DuckDBPyConnection | None) -> None:
    if cur is not None:
        with contextlib.suppress(duckdb.Error):
            cur.execute("ROLLBACK")


_NOT_RACES = ("no space left", "read-only", "permission denied", "disk is full", "full")


def is_conflict(exc: duckdb.Error) -> bool:
    """Whether `exc` is a lost race with another writer of the catalog, worth a retry."""
    text = str(exc).lower()
    if any(words in text for words in _NOT_RACES):
        return False
    return (
        isinstance(exc, duckdb.TransactionException)
        or "conflict" in text
        or "database is locked" in text
        or "unable to open database" in text
        or "could not serialize" in text
        or "deadlock" in text
        # Two processes creating one table: the other's ledger, committed while this
        # transaction read the catalog, names an inlined-data table this one cannot see yet.
        or "failed to read inlined data" in text
    )


def _part_column(spec: TableSpec) -> str:
    for name in ("segment_id", "batch_id", "part"):
        if name in spec.schema:
            return name
    raise WarehouseError(f"{spec.name}: pieces need a segment_id column to be replaced alone")


@dataclass(frozen=True)
class Count:
    """The rows of `table` (of some partitions only, unless None) where `where` holds."""

    table: str
    partitions: Iterable[str] | None = None
    where: str = "true"
    params: Sequence[Any] = ()


def in_partitions(
    spec: TableSpec,
    partitions: Iterable[str] | None,
    where: str = "true",
    params: Sequence[Any] = (),
) -> tuple[str, list[Any]] | None:
    """`where` narrowed to the rows of `partitions` (None: every partition) and its parameters;
    None when the partitions name none."""
    if partitions is None:
        return where, list(params)
    keys = sorted(set(partitions))
    if not keys:
        return None
    condition, keyed = partitions_sql(spec, keys)
    if where != "true":
        condition = f"({condition}) AND ({where})"
    return condition, [*keyed, *params]
