"""`Warehouse`: typed frames in, DuckLake partitions out, each write one catalog transaction.

The tables live in a DuckLake (lake.py): Parquet data files under the data path and a SQL
catalog that lists them, with snapshots, time travel and per-file statistics. This module is a
thin layer over it that keeps the warehouse's contract:

- A table is created from its `TableSpec` on first write, with its DuckLake layout (partitioning,
  sort order, row group size: `Layout` in tables/spec.py); a column added to a spec later is
  added to the table (older rows read it as null).
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

Beside it: `batch.py` (what a write replaces, `Batch`, `WriteResult`), `checks.py` (frames
checked against their table), `statements.py` (the SQL a transaction runs) and
`parquet_files.py` (large writes added to the lake as files).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from kis_pipeline.warehouse.batch import Batch, Scope, WriteResult
from kis_pipeline.warehouse.checks import spec_of, typed
from kis_pipeline.warehouse.errors import WarehouseError
from kis_pipeline.warehouse.lake import ALIAS, METADATA, LakeConfig, LakeError, connect, explain
from kis_pipeline.warehouse.parquet_files import ParquetFiles
from kis_pipeline.warehouse.statements import (
    SENTINEL,
    Count,
    create_or_alter,
    ident,
    in_partitions,
    is_conflict,
    ledger,
    rollback,
    run_all,
    table_layouts,
    table_options,
    write_all,
)
from kis_pipeline.warehouse.tables import TableSpec, layout_of

# Retries of a write that lost a catalog race: the wait doubles from the first, jittered.
RETRY_ATTEMPTS = 40
RETRY_FIRST_S = 0.02
RETRY_MAX_S = 1.0


def utc_now() -> dt.datetime:
    """The time a write records in the ledger (a seam for tests of freshness)."""
    return dt.datetime.now(dt.UTC)


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
        self._ready: dict[str, str] = {}  # table -> its layout as checked; "" only seen to exist
        self._guard = threading.Lock()
        self._local = threading.local()
        self._catalog_at_connect: str | None = None
        self._catalog_seen: tuple[int, int] | None = None

    @classmethod
    def at(
        cls,
        root: Path | str,
        *,
        catalog: str | None = None,
        data_url: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Warehouse:
        """The process's warehouse (see `shared`) in the local folder `root` with its catalog
        (`KIS_CATALOG`) and an object-store data path (`s3://...`) if given; `environ` holds the
        store's credentials (this process's environment by default)."""
        env = os.environ if environ is None else environ
        return cls.shared(root, LakeConfig.from_settings(Path(root), catalog, data_url, env))

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
        rollback(cur)
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
                if not is_conflict(exc) or attempt >= RETRY_ATTEMPTS:
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
        spec = spec_of(table)
        if not self._exists(table):
            return []
        frame = self.query(
            f'SELECT "partition" FROM {ledger(spec.name)} WHERE "partition" <> ? ORDER BY 1',
            [SENTINEL],
        )
        return frame["partition"].to_list()

    def written_at(self, table: str, partition: str) -> dt.datetime | None:
        """When `partition` of `table` was last written, if ever."""
        spec = spec_of(table)
        if not self._exists(table):
            return None
        frame = self.query(
            f'SELECT written_at FROM {ledger(spec.name)} WHERE "partition" = ?', [partition]
        )
        return frame["written_at"][0] if frame.height else None

    def _exists(self, table: str) -> bool:
        """Whether `table` exists in the lake. A table once seen is not asked about again on
        this connection: tables are created, never dropped, and the catalog query costs more
        than most reads it would guard."""
        if table in self._ready:
            return True
        if table not in self.tables():
            return False
        self._ready.setdefault(table, "")  # exists; its layout not yet checked
        return True

    def ensure(self, tables: Iterable[TableSpec | str]) -> None:
        """Create the tables (with ledger and views) that do not exist yet, or bring their
        columns and layout up to date; cheap once checked in this process.

        All of them take two transactions together (DuckLake sets a table's options only once
        the table is committed: create, then set the options and record the layout in the
        comment that says it is done), so a command that knows the tables it will write makes
        them at once instead of two catalog commits per table on its first writes."""
        wanted: dict[str, tuple[TableSpec, str, str]] = {}
        for table in tables:
            spec = spec_of(table) if isinstance(table, str) else table
            layout = layout_of(spec).describe(spec)
            key = f"{layout}|{','.join(spec.schema)}"
            if self._ready.get(spec.name) != key:
                wanted[spec.name] = (spec, layout, key)
        if not wanted:
            return
        found = table_layouts(self._cursor(), sorted(wanted))
        stale = [
            spec
            for name, (spec, layout, _) in sorted(wanted.items())
            if name not in found or found[name][0] != layout or set(spec.schema) - found[name][1]
        ]
        if stale:
            what = ", ".join(spec.name for spec in stale)

            def create(cur: duckdb.DuckDBPyConnection) -> None:
                for spec in stale:
                    create_or_alter(cur, spec)

            self._transact(create, what=what)
            options = [statement for spec in stale for statement in table_options(spec)]
            self._transact(lambda cur: run_all(cur, options), what=what)
        for name, (_, _, key) in wanted.items():
            self._ready[name] = key

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
            WriteResult(w.spec.name, key, 0, 0, None)
            for w in batch.writes
            if w.skipped
            for key in w.keys
        ]
        if not writes:
            return skipped
        self.ensure(write.spec for write in writes)

        files = ParquetFiles(self.lake.local_data)

        def work(cur: duckdb.DuckDBPyConnection) -> None:
            files.discard()  # what an attempt that lost a race wrote
            write_all(cur, writes, files, utc_now())

        try:
            snapshot = self._transact(work, what=", ".join(sorted({w.spec.name for w in writes})))
        except BaseException:
            files.discard()
            raise
        results = skipped
        added_by_table = {w.spec.name: self._bytes_added(w.spec.name, snapshot) for w in writes}
        rows_by_table: dict[str, int] = {}
        for write in writes:
            rows_by_table[write.spec.name] = (
                rows_by_table.get(write.spec.name, 0) + write.rows.height
            )
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
                if not is_conflict(exc) or attempt >= RETRY_ATTEMPTS:
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
        spec = spec_of(table)
        narrowed = in_partitions(spec, partitions)
        if narrowed is None:
            return pl.DataFrame(schema=spec.schema)
        return self.select(table, *narrowed)

    def count(
        self,
        table: str,
        partitions: Iterable[str] | None = None,
        where: str = "true",
        params: Sequence[Any] = (),
    ) -> int:
        """How many rows of `table` (optionally of some partitions only) satisfy `where`."""
        return self.counts([Count(table, partitions, where, params)])[0]

    def counts(self, asked: Sequence[Count]) -> list[int]:
        """Each `Count`'s rows, in one query: one read of the catalog for all of them."""
        found = [0] * len(asked)
        parts: list[tuple[int, str]] = []
        values: list[Any] = []
        for index, count in enumerate(asked):
            narrowed = in_partitions(
                spec_of(count.table), count.partitions, count.where, count.params
            )
            if narrowed is None or not self._exists(count.table):
                continue
            condition, params = narrowed
            parts.append((index, f'(SELECT count(*) FROM "{count.table}" WHERE {condition})'))
            values.extend(params)
        if parts:
            row = self.query(f"SELECT {', '.join(sql for _, sql in parts)}", values).row(0)
            for (index, _), value in zip(parts, row, strict=True):
                found[index] = int(value)
        return found

    def select(self, table: str, where: str = "true", params: Sequence[Any] = ()) -> pl.DataFrame:
        """The rows of `table` where the SQL condition `where` holds, typed by its schema (the
        lake prunes files and row groups by it)."""
        spec = spec_of(table)
        if not self._exists(table):
            return pl.DataFrame(schema=spec.schema)
        # In one fixed order whatever files the rows are in now: the table's sort, then its key,
        # which breaks the ties the sort leaves (ticks of one symbol in one second).
        columns = (spec.partition_column, *spec.sort, *spec.key)
        order = ", ".join(ident(c) for c in dict.fromkeys(columns))
        sql = f'SELECT * FROM "{table}" WHERE {where} ORDER BY {order}'
        return typed(spec, self.query(sql, list(params)))
