"""`Warehouse`: typed frames in, DuckLake partitions out, each write one catalog transaction.

The tables live in a DuckLake (lake.py): Parquet data files under the data path and a SQL
catalog that lists them, with snapshots, time travel and per-file statistics. This module is a
thin layer over it that keeps the warehouse's contract:

- A table is created from its `TableSpec` on first write, with its DuckLake layout (partitioning,
  sort order, row group size: `Layout` in tables.py); a column added to a spec later is added to
  the table (older rows read it as null).
- A partition write deletes the partition's rows (all of them, or the piece `part`, or the rows a
  `Scope` names) and inserts the new ones in ONE transaction: a reader sees the old rows or the
  new, never both, never neither, and a writer killed mid-way leaves only unreferenced files that
  maintenance deletes. `write_partitions` replaces many partitions in one transaction (one
  catalog commit for a backfill run's hundreds of days).
- Every table has a ledger, `_kis."<table>"`: one row per partition ever written (so a day
  written empty, a closed market, still counts as materialized) plus a sentinel row that every
  write deletes and re-inserts. DuckLake lets two transactions that only insert commit side by
  side; the sentinel makes any two concurrent writers of one table conflict, so the later one is
  retried on top of the earlier and a partition is never stored twice.
- Catalog conflicts (another process committed first) are retried with jittered backoff.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import os
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb
import polars as pl

from kis_pipeline.warehouse.lake import ALIAS, METADATA, LakeConfig, LakeError, connect, explain
from kis_pipeline.warehouse.tables import LATEST_VIEWS, TABLES, TableSpec, layout_of

if TYPE_CHECKING:
    from kis_pipeline.kis.settings import KisSettings

_PARTITION = {"date": re.compile(r"^\d{4}-\d{2}-\d{2}$"), "year": re.compile(r"^\d{4}$")}
LEDGER_SCHEMA = "_kis"
# The ledger's sentinel: every write deletes and re-inserts it (see the module docstring).
SENTINEL = ""
# Retries of a write that lost a catalog race: the wait doubles from the first, jittered.
RETRY_ATTEMPTS = 40
RETRY_FIRST_S = 0.02
RETRY_MAX_S = 1.0
# The ledger stays in the catalog database (DuckLake's data inlining), not in tiny files.
LEDGER_INLINE_ROWS = 100_000

T = TypeVar("T")


def utc_now() -> dt.datetime:
    """The time a write records in the ledger (a seam for tests of freshness)."""
    return dt.datetime.now(dt.UTC)


class WarehouseError(Exception):
    """A write that would break the warehouse's contract; the message says what to fix."""


class SchemaMismatch(WarehouseError):
    pass


@dataclass(frozen=True)
class Scope:
    """Which stored rows of a partition a write replaces, by the values of column `by`.

    The default replaces every row. `only` narrows the write to the rows of those values (a
    run restricted to some symbols leaves the others alone); rows of the values in `keep` stay
    as they are whatever the new frame holds for them (a fetch that failed must not erase what
    an earlier run stored).
    """

    only: frozenset[str] | None = None
    keep: frozenset[str] = frozenset()
    by: str = "symbol"

    @classmethod
    def of(
        cls, only: Iterable[str] | None = None, keep: Iterable[str] = (), *, by: str = "symbol"
    ) -> Scope:
        return cls(None if only is None else frozenset(only), frozenset(keep), by)

    def keeping(self, values: Iterable[str]) -> Scope:
        """This scope, also keeping the rows of `values`."""
        return Scope(self.only, self.keep | frozenset(values), self.by)

    @property
    def whole(self) -> bool:
        return self.only is None and not self.keep

    @property
    def empty(self) -> bool:
        """Whether the write would replace nothing at all."""
        return self.only is not None and self.only <= self.keep

    def sql(self) -> tuple[str, list[Any]]:
        """The SQL condition true for the stored rows this write replaces, and its parameters."""
        terms, params = [], []
        if self.only is not None:
            terms.append(f'"{self.by}" IN (SELECT unnest(?::VARCHAR[]))')
            params.append(sorted(self.only))
        if self.keep:
            terms.append(f'"{self.by}" NOT IN (SELECT unnest(?::VARCHAR[]))')
            params.append(sorted(self.keep))
        return " AND ".join(terms) or "true", params


@dataclass(frozen=True)
class WriteResult:
    table: str
    partition: str
    rows: int  # rows this write put in (a scoped write keeps others beside them)
    bytes: int  # Parquet bytes it added (0 when DuckLake inlined the rows in the catalog)
    snapshot: int | None  # the lake snapshot it committed; None: the scope replaced nothing


@dataclass
class _Write:
    spec: TableSpec
    keys: list[str]
    rows: pl.DataFrame
    counts: dict[str, int]
    scope: Scope | None
    part: str | None
    skipped: bool = False


@dataclass
class Batch:
    """Partition writes checked now and committed together by `Warehouse.commit`."""

    writes: list[_Write] = field(default_factory=list)

    def add(
        self,
        table: str,
        frames: Mapping[str, pl.DataFrame],
        *,
        part: str | None = None,
        scope: Scope | None = None,
    ) -> None:
        spec = _spec(table)
        checked = {key: _checked(spec, key, conform(spec, f)) for key, f in frames.items()}
        if not checked:
            return
        if scope is not None and scope.whole:
            scope = None
        if scope is not None:
            if part is not None:
                raise WarehouseError(f"{table}: a piece ({part}) cannot be replaced by scope")
            checked = {key: _within(spec, key, f, scope) for key, f in checked.items()}
        frames_ = list(checked.values())
        rows = pl.concat(frames_) if len(frames_) > 1 else frames_[0]
        self.writes.append(
            _Write(
                spec,
                sorted(checked),
                rows,
                {key: f.height for key, f in checked.items()},
                scope,
                part,
                skipped=scope is not None and scope.empty,
            )
        )


# Warehouses kept per process by `Warehouse.shared`: a few, for the tests and tools that open
# many warehouses in one process; one is what a deployment uses.
_SHARED: dict[tuple[Path, LakeConfig], Warehouse] = {}
_SHARED_BOUND = 4
_SHARED_GUARD = threading.Lock()


class Warehouse:
    """The DuckLake warehouse: `root` is the local folder (the default catalog and data path,
    the tick spool and the API caches); `lake` where the catalog and data files are."""

    def __init__(self, root: Path | str, *, lake: LakeConfig | None = None) -> None:
        self.root = Path(root)
        self.lake = lake or LakeConfig.local(self.root)
        self._con: duckdb.DuckDBPyConnection | None = None
        self._pid = os.getpid()
        self._ready: dict[str, str] = {}  # table -> the layout comment it was checked with
        self._guard = threading.Lock()
        self._local = threading.local()
        self._catalog_at_connect: str | None = None
        self._catalog_seen: tuple[int, int] | None = None

    @classmethod
    def from_settings(cls, settings: KisSettings) -> Warehouse:
        """The process's warehouse for `settings` (see `shared`)."""
        lake = LakeConfig.from_settings(
            settings.warehouse, settings.catalog, settings.data_url, os.environ
        )
        return cls.shared(settings.warehouse, lake)

    @classmethod
    def shared(cls, root: Path | str, lake: LakeConfig) -> Warehouse:
        """One Warehouse per (root, lake) in this process, so that every asset, check and run
        of a process uses one attached lake: attaching (loading the extensions, reading the
        catalog) costs more CPU than most partitions' writes, and a backfill's steps asked for
        it hundreds of times. A SQLite catalog replaced since the connection was opened (a
        warehouse folder deleted and made anew) gets a fresh Warehouse."""
        key = (Path(root).absolute(), lake)
        with _SHARED_GUARD:
            warehouse = _SHARED.pop(key, None)
            if warehouse is None or warehouse._catalog_replaced():
                warehouse = cls(root, lake=lake)
            _SHARED[key] = warehouse  # the newest last; the oldest beyond the bound dropped
            while len(_SHARED) > _SHARED_BOUND:
                _SHARED.pop(next(iter(_SHARED)))
            return warehouse

    def _catalog_created(self) -> str | None:
        """When the SQLite catalog the path names now was created (its first snapshot's time,
        read through this connection, which opens the file by its path), or None.

        A file's inode number is no identity: a deleted catalog's number is handed to the next
        new file. Reading is skipped while the file's inode and modification time are those
        seen last, so a process that writes rarely reads it once per write."""
        path = self.lake.catalog_file
        if path is None or self._con is None:
            return None
        try:
            info = path.stat()
        except OSError:
            return "missing"
        seen = (info.st_ino, info.st_mtime_ns)
        if seen == self._catalog_seen:
            return self._catalog_at_connect
        try:
            with self._con.cursor() as cur:
                row = cur.execute(
                    f"SELECT snapshot_time FROM {METADATA}.ducklake_snapshot WHERE snapshot_id = 0"
                ).fetchone()
        except duckdb.Error:
            return "unreadable"
        self._catalog_seen = seen
        return str(row[0]) if row else None

    def _catalog_replaced(self) -> bool:
        return self._con is not None and self._catalog_created() != self._catalog_at_connect

    def __repr__(self) -> str:
        return f"Warehouse({str(self.root)!r}, {self.lake.describe()})"

    def _reset(self) -> None:
        """Drop the connection after a failure (a full disk can leave the catalog's SQLite
        handle unusable): the next call opens a fresh one."""
        with self._guard:
            with contextlib.suppress(duckdb.Error):
                self.close()
            self._con = None

    def close(self) -> None:
        if self._con is not None and self._pid == os.getpid():
            self._con.close()
        self._con = None

    # -- connections --------------------------------------------------------------------------

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own to the lake (cheap: one attached lake per process)."""
        try:
            return self._open_cursor()
        except duckdb.Error as exc:
            self._reset()
            raise WarehouseError(explain(exc, self.lake)) from exc

    def _open_cursor(self) -> duckdb.DuckDBPyConnection:
        """`_cursor`, its DuckDB errors as they are (a busy catalog is retried by writes)."""
        with self._guard:
            if self._con is None or self._pid != os.getpid():
                # A forked child must not share its parent's connection.
                try:
                    self._con = connect(self.lake)
                except LakeError as exc:
                    raise WarehouseError(str(exc)) from exc
                self._pid, self._ready = os.getpid(), {}
                self._catalog_seen = None
                self._catalog_at_connect = self._catalog_created()
            con = self._con
        # One cursor per thread, kept: opening one and choosing the lake costs a catalog read.
        local = self._local
        if getattr(local, "con", None) is con and local.cursor is not None:
            return local.cursor
        cursor = con.cursor()
        try:
            cursor.execute(f"USE {ALIAS}")
        except duckdb.Error:
            cursor.close()
            raise
        local.con, local.cursor = con, cursor
        return cursor

    def _abandon(self, cur: duckdb.DuckDBPyConnection | None) -> None:
        """Roll back a failed transaction and forget its cursor."""
        _rollback(cur)
        self._drop_cursor()

    def _drop_cursor(self) -> None:
        """Forget this thread's cursor (after an error its state is not to be trusted)."""
        cursor = getattr(self._local, "cursor", None)
        self._local.cursor = None
        if cursor is not None:
            with contextlib.suppress(duckdb.Error):
                cursor.close()

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        """The answer to `sql` on the lake (tables by their plain names) as a polars frame; a
        catalog busy for a moment is asked again."""
        wait = RETRY_FIRST_S
        for attempt in itertools.count(1):
            try:
                return self._open_cursor().execute(sql, params or []).pl()
            except duckdb.Error as exc:
                self._drop_cursor()
                if not _conflict(exc) or attempt >= RETRY_ATTEMPTS:
                    self._reset()
                    raise WarehouseError(explain(exc, self.lake)) from exc
            time.sleep(wait * random.uniform(0.5, 1.5))
            wait = min(wait * 2, RETRY_MAX_S)
        raise AssertionError("unreachable")

    def run(
        self, sql: str, params: Sequence[Any] | None = None, *, what: str
    ) -> list[tuple[Any, ...]]:
        """Run one statement in a write transaction (retried like a write); its rows."""
        rows: list[tuple[Any, ...]] = []

        def work(cur: duckdb.DuckDBPyConnection) -> None:
            rows[:] = cur.execute(sql, params or []).fetchall()

        self._transact(work, what=what)
        return rows

    def snapshot(self) -> int:
        """The newest snapshot of the lake."""
        return int(self.query(f"SELECT id FROM ducklake_current_snapshot('{ALIAS}')").item())

    # -- layout -------------------------------------------------------------------------------

    def tables(self) -> list[str]:
        """The tables that exist in the lake (created by their first write)."""
        frame = self.query(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? "
            "AND schema_name = 'main' ORDER BY 1",
            [ALIAS],
        )
        return frame["table_name"].to_list()

    def partitions(self, table: str) -> list[str]:
        """Every partition written so far (an empty one included), in order."""
        spec = _spec(table)
        if table not in self.tables():
            return []
        frame = self.query(
            f'SELECT "partition" FROM {_ledger(spec.name)} WHERE "partition" <> ? ORDER BY 1',
            [SENTINEL],
        )
        return frame["partition"].to_list()

    def written_at(self, table: str, partition: str) -> dt.datetime | None:
        """When `partition` of `table` was last written, if ever."""
        spec = _spec(table)
        if table not in self.tables():
            return None
        frame = self.query(
            f'SELECT written_at FROM {_ledger(spec.name)} WHERE "partition" = ?', [partition]
        )
        return frame["written_at"][0] if frame.height else None

    def _ensure(self, spec: TableSpec) -> None:
        """Create `spec`'s table (and ledger, and view) or bring its columns and layout up to
        date; cheap once checked in this process."""
        wanted = layout_of(spec).describe(spec)
        key = f"{wanted}|{','.join(spec.schema)}"
        if self._ready.get(spec.name) == key:
            return
        found = self._cursor().execute(
                "SELECT t.comment, list(c.column_name) FROM duckdb_tables() t "
                "JOIN duckdb_columns() c USING (database_name, schema_name, table_name) "
                "WHERE t.database_name = ? AND t.schema_name = 'main' AND t.table_name = ? "
                "GROUP BY t.comment",
                [ALIAS, spec.name],
            ).fetchall()
        if not found or found[0][0] != wanted or set(spec.schema) - set(found[0][1]):
            # DuckLake sets a table's options only once the table is committed: create, then
            # set the options, then record the layout in the comment that says it is done.
            self._transact(lambda cur: _create_or_alter(cur, spec), what=spec.name)
            self._transact(lambda cur: _run_all(cur, _options(spec)), what=spec.name)
        self._ready[spec.name] = key

    # -- writing ------------------------------------------------------------------------------

    def write_partition(
        self,
        table: str,
        partition: str,
        frame: pl.DataFrame,
        *,
        part: str | None = None,
        scope: Scope | None = None,
    ) -> WriteResult:
        """Replace `partition` (or only its piece `part`, or only the rows `scope` names) of
        `table` with `frame`, in one transaction."""
        return self.write_partitions(table, {partition: frame}, part=part, scope=scope)[0]

    def write_partitions(
        self,
        table: str,
        frames: Mapping[str, pl.DataFrame],
        *,
        part: str | None = None,
        scope: Scope | None = None,
    ) -> list[WriteResult]:
        """Replace every partition of `frames` (key -> its rows) in ONE transaction: all of them
        become visible at once, or none does."""
        batch = Batch()
        batch.add(table, frames, part=part, scope=scope)
        return self.commit(batch)

    def commit(self, batch: Batch) -> list[WriteResult]:
        """Make every write of `batch` (any tables) in one transaction."""
        writes = [w for w in batch.writes if not w.skipped]
        skipped = [
            WriteResult(w.spec.name, key, 0, 0, None) for w in batch.writes if w.skipped
            for key in w.keys
        ]
        if not writes:
            return skipped
        for write in writes:
            self._ensure(write.spec)

        files = Files(self.lake.local_data)

        def work(cur: duckdb.DuckDBPyConnection) -> None:
            files.discard()  # what an attempt that lost a race wrote
            _write_all(cur, writes, files)

        try:
            snapshot = self._transact(work, what=", ".join(sorted({w.spec.name for w in writes})))
        except BaseException:
            files.discard()
            raise
        results = skipped
        added_by_table = {w.spec.name: self._bytes_added(w.spec.name, snapshot) for w in writes}
        rows_by_table: dict[str, int] = {}
        for write in writes:
            rows_by_table[write.spec.name] = rows_by_table.get(write.spec.name, 0) + write.rows.height
        for write in writes:
            added = added_by_table[write.spec.name]
            total = max(rows_by_table[write.spec.name], 1)
            results += [
                WriteResult(write.spec.name, key, n, added * n // total, snapshot)
                for key, n in write.counts.items()
            ]
        return results

    def _bytes_added(self, table: str, snapshot: int) -> int:
        frame = self.query(
            f"SELECT coalesce(sum(f.file_size_bytes), 0) AS n FROM {METADATA}.ducklake_data_file f "
            f"JOIN {METADATA}.ducklake_table t USING (table_id) "
            "WHERE f.begin_snapshot = ? AND t.table_name = ?",
            [snapshot, table],
        )
        return int(frame.item())

    def _transact(self, work: Callable[[duckdb.DuckDBPyConnection], object], *, what: str) -> int:
        """Run `work` in one transaction, retrying lost catalog races; returns the snapshot."""
        wait = RETRY_FIRST_S
        for attempt in itertools.count(1):
            cur: duckdb.DuckDBPyConnection | None = None
            try:
                cur = self._open_cursor()
                cur.execute("BEGIN TRANSACTION")
                work(cur)
                cur.execute("COMMIT")
                found = cur.execute(
                    f"SELECT id FROM ducklake_last_committed_snapshot('{ALIAS}')"
                ).fetchone()
                return int(found[0]) if found and found[0] is not None else self.snapshot()
            except WarehouseError:
                self._abandon(cur)
                raise
            except duckdb.Error as exc:
                self._abandon(cur)
                if not _conflict(exc) or attempt >= RETRY_ATTEMPTS:
                    self._reset()
                    raise WarehouseError(f"{what}: {explain(exc, self.lake)}") from exc
                if cur is None:
                    self._reset()
            except LakeError as exc:
                self._abandon(cur)
                raise WarehouseError(str(exc)) from exc
            time.sleep(wait * random.uniform(0.5, 1.5))
            wait = min(wait * 2, RETRY_MAX_S)
        raise AssertionError("unreachable")

    # -- reading ------------------------------------------------------------------------------

    def read(self, table: str, partitions: Iterable[str] | None = None) -> pl.DataFrame:
        """The rows of `table` (optionally of some partitions only), typed by its schema."""
        spec = _spec(table)
        if table not in self.tables():
            return pl.DataFrame(schema=spec.schema)
        where, params = "true", []
        if partitions is not None:
            keys = sorted(set(partitions))
            if not keys:
                return pl.DataFrame(schema=spec.schema)
            where, params = _partitions_sql(spec, keys)
        return self.select(table, where, params)

    def count(
        self,
        table: str,
        partitions: Iterable[str] | None = None,
        where: str = "true",
        params: Sequence[Any] = (),
    ) -> int:
        """How many rows of `table` (optionally of some partitions only) satisfy `where`."""
        spec = _spec(table)
        if table not in self.tables():
            return 0
        conditions, values = [where], list(params)
        if partitions is not None:
            keys = sorted(set(partitions))
            if not keys:
                return 0
            condition, keyed = _partitions_sql(spec, keys)
            conditions, values = [condition, *conditions], [*keyed, *values]
        sql = f'SELECT count(*) FROM "{table}" WHERE ' + " AND ".join(f"({c})" for c in conditions)
        return int(self.query(sql, values).item())

    def select(self, table: str, where: str = "true", params: Sequence[Any] = ()) -> pl.DataFrame:
        """The rows of `table` where the SQL condition `where` holds, typed by its schema (the
        lake prunes files and row groups by it)."""
        spec = _spec(table)
        if table not in self.tables():
            return pl.DataFrame(schema=spec.schema)
        # In one fixed order whatever files the rows are in now: the table's sort, then its key,
        # which breaks the ties the sort leaves (ticks of one symbol in one second).
        columns = (spec.partition_column, *spec.sort, *spec.key)
        order = ", ".join(_ident(c) for c in dict.fromkeys(columns))
        sql = f'SELECT * FROM "{table}" WHERE {where} ORDER BY {order}'
        return typed(spec, self.query(sql, list(params)))


def typed(spec: TableSpec, frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` as `spec`'s schema: its columns in order, one the table lacks as null."""
    columns = []
    for name, dtype in spec.schema.items():
        if name not in frame.columns:
            columns.append(pl.lit(None, dtype).alias(name))
        elif isinstance(dtype, pl.Datetime) and dtype.time_zone:
            columns.append(pl.col(name).dt.convert_time_zone(dtype.time_zone).cast(dtype))
        else:
            columns.append(pl.col(name).cast(dtype))
    return frame.select(columns)


# -- SQL --------------------------------------------------------------------------------------


def _ledger(table: str) -> str:
    return f'{LEDGER_SCHEMA}."{table}"'


def _partitions_sql(spec: TableSpec, keys: Sequence[str]) -> tuple[str, list[Any]]:
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


def _write_all(cur: duckdb.DuckDBPyConnection, writes: list[_Write], files: Files) -> None:
    """The statements of a batch inside its transaction (see the module docstring).

    The pieces of one table (tick segments) go in as one INSERT: one Parquet file per table and
    partition instead of one per segment. Whole-partition and scoped writes go one by one, in
    order, so a later one replaces an earlier one of the same partition."""
    by_table: dict[str, list[_Write]] = {}
    for write in writes:
        by_table.setdefault(write.spec.name, []).append(write)
    for group in by_table.values():
        if all(w.part is not None for w in group):
            _replace(cur, group, files)
        else:
            for write in group:
                _replace(cur, [write], files)
    _describe(cur, writes)


def _replace(cur: duckdb.DuckDBPyConnection, writes: list[_Write], files: Files) -> None:
    """Replace what `writes` (of one table) name with their rows."""
    spec = writes[0].spec
    name = f'"{spec.name}"'
    keys = sorted({key for w in writes for key in w.keys})
    cur.execute(
        f'DELETE FROM {_ledger(spec.name)} WHERE "partition" IN (SELECT unnest(?::VARCHAR[]))',
        [[SENTINEL, *keys]],
    )
    if len(writes) > 1:  # pieces: one statement for all of them
        where, params = _partitions_sql(spec, keys)
        parts = sorted({str(w.part) for w in writes})
        where = f'({where}) AND "{_part_column(spec)}" IN (SELECT unnest(?::VARCHAR[]))'
        params = [*params, parts]
    else:
        (write,) = writes
        where, params = _partitions_sql(spec, write.keys)
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
            within, args = _partitions_sql(spec, write.keys)
            dupes = cur.execute(
                f"SELECT count(*) - count(DISTINCT ({', '.join(map(_ident, spec.key))})) "
                f"FROM {name} WHERE {within}",
                args,
            ).fetchone()
            if dupes and dupes[0]:
                raise WarehouseError(f"{spec.name}: {dupes[0]} rows would share a key {spec.key}")
    cur.execute(
        f"INSERT INTO {_ledger(spec.name)} SELECT unnest(?::VARCHAR[]), ?::TIMESTAMPTZ",
        [[SENTINEL, *keys], utc_now()],
    )


class Files:
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


def _describe(cur: duckdb.DuckDBPyConnection, writes: list[_Write]) -> None:
    """The snapshot's commit message: what it wrote, for people and for `ducklake_snapshots`."""
    said = []
    for write in writes:
        keys = write.keys
        described = keys[0] if len(keys) == 1 else f"{len(keys)} partitions {keys[0]}..{keys[-1]}"
        said.append(f"{write.spec.name} {described}" + (f" piece {write.part}" if write.part else ""))
    message = said[0] if len(said) == 1 else f"{len(said)} writes: " + "; ".join(said[:5])
    info = [{"table": w.spec.name, "partitions": w.keys, "part": w.part} for w in writes]
    cur.execute(
        f"CALL ducklake_set_commit_message('{ALIAS}', 'kis-pipeline', ?, extra_info => ?)",
        [message, json.dumps(info[0] if len(info) == 1 else info)],
    )


def _create_or_alter(cur: duckdb.DuckDBPyConnection, spec: TableSpec) -> None:
    layout = layout_of(spec)
    name = f'"{spec.name}"'
    columns = ", ".join(f"{_ident(c)} {sql_type(t)}" for c, t in spec.schema.items())
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
            cur.execute(f"ALTER TABLE {name} ADD COLUMN {_ident(column)} {sql_type(dtype)}")
    for statement in layout.statements(spec):
        cur.execute(statement)
    cur.execute(f"CREATE SCHEMA IF NOT EXISTS {LEDGER_SCHEMA}")
    cur.execute(
        f'CREATE TABLE IF NOT EXISTS {_ledger(spec.name)} ("partition" VARCHAR, '
        "written_at TIMESTAMPTZ)"
    )
    cur.execute(
        f"INSERT INTO {_ledger(spec.name)} SELECT ?, NULL WHERE NOT EXISTS "
        f'(SELECT 1 FROM {_ledger(spec.name)} WHERE "partition" = ?)',
        [SENTINEL, SENTINEL],
    )
    for view, base in LATEST_VIEWS.items():
        if base == spec.name:
            cur.execute(latest_sql(view, base))


def _run_all(cur: duckdb.DuckDBPyConnection, statements: Sequence[str]) -> None:
    for statement in statements:
        cur.execute(statement)


def _options(spec: TableSpec) -> list[str]:
    """Statements run after the table exists: its DuckLake options, then its comment."""
    layout = layout_of(spec)
    comment = layout.describe(spec).replace("'", "''")
    return [
        *layout.options(spec),
        f"CALL ducklake_set_option('{ALIAS}', 'data_inlining_row_limit', {LEDGER_INLINE_ROWS}, "
        f"schema => '{LEDGER_SCHEMA}', table_name => '{spec.name}')",
        f'COMMENT ON TABLE "{spec.name}" IS \'{comment}\'',
    ]


def latest_sql(view: str, table: str) -> str:
    return (
        f'CREATE OR REPLACE VIEW "{view}" AS SELECT * EXCLUDE (_newest) FROM ('
        f"SELECT *, row_number() OVER (PARTITION BY symbol, period, period_type "
        f'ORDER BY as_of DESC) AS _newest FROM "{table}") WHERE _newest = 1'
    )


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


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rollback(cur: duckdb.DuckDBPyConnection | None) -> None:
    if cur is not None:
        with contextlib.suppress(duckdb.Error):
            cur.execute("ROLLBACK")


_NOT_RACES = ("no space left", "read-only", "permission denied", "disk is full", "full")


def _conflict(exc: duckdb.Error) -> bool:
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
    )


# -- checks -----------------------------------------------------------------------------------


def conform(spec: TableSpec, frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` in the table's column order; any difference in columns or dtypes is an error."""
    expected, actual = spec.schema, frame.schema
    if dict(expected) != dict(actual):
        missing = [c for c in expected if c not in actual]
        extra = [c for c in actual if c not in expected]
        wrong = [
            f"{c} is {actual[c]}, expected {expected[c]}"
            for c in expected
            if c in actual and actual[c] != expected[c]
        ]
        details = "; ".join(
            part
            for part in (
                f"missing {missing}" if missing else "",
                f"unexpected {extra}" if extra else "",
                ", ".join(wrong),
            )
            if part
        )
        raise SchemaMismatch(f"{spec.name}: frame does not match the table schema: {details}")
    return frame.select(list(expected))


def _checked(spec: TableSpec, partition: str, frame: pl.DataFrame) -> pl.DataFrame:
    """`frame`, if it is one partition's rows with unique keys; else a `WarehouseError`."""
    table = spec.name
    if not _PARTITION[spec.partition_by].match(partition):
        raise WarehouseError(
            f"{table}: partition {partition!r} is not a {spec.partition_by} "
            f"({'YYYY-MM-DD' if spec.partition_by == 'date' else 'YYYY'})"
        )
    stray = frame.filter(spec.partition_expr() != partition)
    if stray.height:
        raise WarehouseError(
            f"{table}: {stray.height} rows do not belong to partition {partition} "
            f"(e.g. {spec.partition_column}={stray[spec.partition_column][0]})"
        )
    if spec.key:
        dupes = frame.select(spec.key).is_duplicated().sum()
        if dupes:
            raise WarehouseError(f"{table}: {dupes} rows share a key {spec.key} in {partition}")
    return frame


def _within(spec: TableSpec, partition: str, frame: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    """The rows of `frame` a scoped write puts in: those of kept values are dropped, and a row
    outside `only` is an error."""
    frame = frame.filter(~pl.col(scope.by).is_in(sorted(scope.keep)))
    if scope.only is not None:
        outside = frame.filter(~pl.col(scope.by).is_in(sorted(scope.only)))
        if outside.height:
            raise WarehouseError(
                f"{spec.name}: {outside.height} rows in {partition} are outside the "
                f"{scope.by} values this write replaces (e.g. {outside[scope.by][0]})"
            )
    return frame


def _spec(table: str) -> TableSpec:
    try:
        return TABLES[table]
    except KeyError:
        raise WarehouseError(
            f"unknown table {table!r}; known tables: {', '.join(sorted(TABLES))}"
        ) from None


def _part_column(spec: TableSpec) -> str:
    for name in ("segment_id", "batch_id", "part"):
        if name in spec.schema:
            return name
    raise WarehouseError(f"{spec.name}: pieces need a segment_id column to be replaced alone")
