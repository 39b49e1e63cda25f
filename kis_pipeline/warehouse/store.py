"""`Warehouse`: typed frames in, Parquet partitions out, replaced atomically.

Layout (the only code that knows paths):

    <root>/parquet/<table>/_manifest.json             the live files of the table
    <root>/parquet/<table>/date=YYYY-MM-DD/part-*.parquet   one day (or one piece of it)
    <root>/parquet/<table>/year=YYYY/part-*.parquet   year-partitioned tables
    <root>/parquet/<table>/month=YYYY-MM/part-*.parquet     a compacted month
    <root>/kis.duckdb                                 the catalog: one view per table

A write goes: check the frame against the table's schema -> write a uniquely named file ->
fsync -> publish it in the manifest under the table lock, retiring whatever it replaces. A
crash before publishing leaves only an unreferenced file that the next compaction sweeps.

A write normally replaces a whole partition. A `Scope` narrows it to some symbols (a run for
a subset) and protects others (symbols whose fetch failed): the partition's other rows are
read and merged under the same lock, so two scoped writers of one partition never lose each
other's rows.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
import uuid
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from kis_pipeline.kis.state import file_lock, pid_alive
from kis_pipeline.warehouse.manifest import LOCK, Entry, Manifest
from kis_pipeline.warehouse.tables import TABLES, TableSpec

# A replaced file outlives its replacement by this long, for readers of an older catalog.
DEFAULT_GRACE_S = 3600.0
# Small row groups in compacted files let DuckDB skip most of a month when a query wants one
# symbol (min/max statistics per group); bench/README.md "DuckDB layout" measured the trade.
COMPACTED_ROW_GROUP = 16_384
# Partition dates are exchange-local; "today" is Korea's, whatever the machine's time zone.
KST = zoneinfo.ZoneInfo("Asia/Seoul")
_PARTITION = {"date": re.compile(r"^\d{4}-\d{2}-\d{2}$"), "year": re.compile(r"^\d{4}$")}


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

    def replaced(self) -> pl.Expr:
        """True for the rows this write replaces."""
        expr = pl.lit(True) if self.only is None else pl.col(self.by).is_in(sorted(self.only))
        if self.keep:
            expr = expr & ~pl.col(self.by).is_in(sorted(self.keep))
        return expr


@dataclass(frozen=True)
class WriteResult:
    table: str
    partition: str
    path: Path | None  # None: the scope replaced nothing, so nothing was written
    rows: int  # rows this write put in (a scoped write keeps others beside them)
    bytes: int


@dataclass(frozen=True)
class CompactResult:
    table: str
    files_before: int
    files_after: int
    groups: int


class Warehouse:
    """The Parquet warehouse under `root`; safe to share between processes."""

    def __init__(self, root: Path, *, grace_s: float = DEFAULT_GRACE_S) -> None:
        self.root = Path(root)
        self.parquet = self.root / "parquet"
        self.catalog_path = self.root / "kis.duckdb"
        self.grace_s = grace_s

    def __repr__(self) -> str:
        return f"Warehouse({str(self.root)!r})"

    # -- layout -------------------------------------------------------------------------------

    def table_dir(self, table: str) -> Path:
        return self.parquet / table

    def tables(self) -> list[str]:
        """Tables that have a manifest on disk."""
        if not self.parquet.is_dir():
            return []
        return sorted(p.name for p in self.parquet.iterdir() if (p / "_manifest.json").is_file())

    def live_files(self, table: str) -> list[Path]:
        table_dir = self.table_dir(table)
        return [table_dir / e.file for e in Manifest.load(table_dir).entries]

    def partitions(self, table: str) -> list[str]:
        return Manifest.load(self.table_dir(table)).partitions()

    def has_older_files(self, table: str) -> bool:
        """True while some live file of `table` lacks a column its schema has now."""
        names = list(_spec(table).schema)
        return any(e.columns != names for e in Manifest.load(self.table_dir(table)).entries)

    # -- writing ------------------------------------------------------------------------------

    def write_partition(
        self,
        table: str,
        partition: str,
        frame: pl.DataFrame,
        *,
        part: str | None = None,
        scope: Scope | None = None,
        refresh: bool = True,
    ) -> WriteResult:
        """Replace `partition` (or only its piece `part`, or only the rows `scope` names) of
        `table` with `frame`, atomically."""
        spec = _spec(table)
        frame = _checked(spec, partition, conform(spec, frame))
        if scope is not None and not scope.whole:
            if part is not None:
                raise WarehouseError(f"{table}: a piece ({part}) cannot be replaced by scope")
            result = self._merge(spec, partition, frame, scope)
        else:
            result = self._replace(spec, partition, frame, part)
        if refresh and result.path is not None:
            self.refresh_catalog()
        return result

    def _replace(
        self, spec: TableSpec, partition: str, frame: pl.DataFrame, part: str | None
    ) -> WriteResult:
        table_dir = self.table_dir(spec.name)
        rel = f"{spec.partition_by}={partition}/part-{_unique()}.parquet"
        size = _write_parquet(frame.sort(spec.sort), table_dir / rel)
        with file_lock(table_dir / LOCK):
            manifest = Manifest.load(table_dir)
            replaced = [e for e in manifest.covering(partition) if part is None or part in e.parts]
            entry = Entry(rel, [partition], [part] if part else [], frame.height, size, frame.columns)
            self._publish(spec, manifest, entry, replaced, partition=partition, part=part)
        return WriteResult(spec.name, partition, table_dir / rel, frame.height, size)

    def _merge(
        self, spec: TableSpec, partition: str, frame: pl.DataFrame, scope: Scope
    ) -> WriteResult:
        """Replace the rows `scope` names, keeping the partition's others; the stored rows
        are read under the table lock, so a concurrent writer's rows are never dropped."""
        frame = frame.filter(~pl.col(scope.by).is_in(sorted(scope.keep)))
        if scope.only is not None:
            outside = frame.filter(~pl.col(scope.by).is_in(sorted(scope.only)))
            if outside.height:
                raise WarehouseError(
                    f"{spec.name}: {outside.height} rows in {partition} are outside the "
                    f"{scope.by} values this write replaces (e.g. {outside[scope.by][0]})"
                )
        if scope.empty:
            return WriteResult(spec.name, partition, None, 0, 0)
        table_dir = self.table_dir(spec.name)
        rel = f"{spec.partition_by}={partition}/part-{_unique()}.parquet"
        with file_lock(table_dir / LOCK):
            manifest = Manifest.load(table_dir)
            covering = manifest.covering(partition)
            stored = (
                read_files(spec, [table_dir / e.file for e in covering])
                .filter(spec.partition_expr() == partition)
                .select(list(spec.schema))
                if covering
                else frame.clear()
            )
            merged = _checked(spec, partition, pl.concat([stored.filter(~scope.replaced()), frame]))
            size = _write_parquet(merged.sort(spec.sort), table_dir / rel)
            entry = Entry(rel, [partition], [], merged.height, size, merged.columns)
            self._publish(spec, manifest, entry, list(covering), partition=partition)
        return WriteResult(spec.name, partition, table_dir / rel, frame.height, size)

    def _publish(
        self,
        spec: TableSpec,
        manifest: Manifest,
        entry: Entry,
        replaced: list[Entry],
        *,
        partition: str,
        part: str | None = None,
    ) -> None:
        """Retire what `entry` replaces and save the manifest (the caller holds the table
        lock). A save that fails (a full disk, say) leaves no unlisted file behind."""
        table_dir = self.table_dir(spec.name)
        try:
            for old in replaced:
                if part is None:
                    self._remove(spec, manifest, old, partition=partition)
                else:
                    self._remove(spec, manifest, old, part=part)
            manifest.entries.append(entry)
            self._collect_garbage(table_dir, manifest)
            _record_columns(table_dir, manifest)
            manifest.save(table_dir)
        except BaseException:
            _discard_unpublished(table_dir, [entry.file, *manifest.live_files()])
            raise

    def _remove(
        self,
        spec: TableSpec,
        manifest: Manifest,
        entry: Entry,
        *,
        partition: str | None = None,
        part: str | None = None,
    ) -> None:
        """Take one partition or piece out of `entry`, rewriting a file that holds more."""
        table_dir = self.table_dir(spec.name)
        whole = (partition is not None and entry.partitions == [partition]) or (
            part is not None and entry.parts == [part]
        )
        manifest.retire(entry)
        if whole:
            return
        kept = read_files(spec, [table_dir / entry.file])
        if partition is not None:
            kept = kept.filter(spec.partition_expr() != partition)
            partitions = [p for p in entry.partitions if p != partition]
            parts = entry.parts
        else:
            column = _part_column(spec)
            kept = kept.filter(pl.col(column) != part)
            partitions = sorted(set(kept.select(spec.partition_expr()).to_series().to_list()))
            parts = [p for p in entry.parts if p != part]
        if kept.height == 0 and not partitions:
            return
        rel = f"{Path(entry.file).parent}/part-{_unique()}.parquet"
        size = _write_parquet(kept, table_dir / rel)
        manifest.entries.append(Entry(rel, partitions, parts, kept.height, size, kept.columns))

    # -- reading ------------------------------------------------------------------------------

    def read(self, table: str, partitions: Iterable[str] | None = None) -> pl.DataFrame:
        """The live rows of `table` (optionally of some partitions only), typed by its schema."""
        spec = _spec(table)
        manifest = Manifest.load(self.table_dir(table))
        wanted = None if partitions is None else set(partitions)
        files = [
            self.table_dir(table) / e.file
            for e in manifest.entries
            if wanted is None or wanted.intersection(e.partitions)
        ]
        if not files:
            return pl.DataFrame(schema=spec.schema)
        frame = read_files(spec, files)
        if wanted is not None:
            frame = frame.filter(spec.partition_expr().is_in(sorted(wanted)))
        return frame

    # -- compaction ---------------------------------------------------------------------------

    def compact(
        self,
        table: str,
        *,
        before: dt.date | None = None,
        grain: Literal["day", "month"] = "month",
        refresh: bool = True,
    ) -> CompactResult:
        """Merge closed periods into one file each, sorted by the table's sort key.

        `grain="month"`: every month wholly before `before` (default: the current month) becomes
        one file. `grain="day"`: every day before `before` (default: today) that is split into
        pieces (tick segments) becomes one file. Queries see no difference. The defaults are
        Korea's dates, not the machine's.
        """
        spec = _spec(table)
        if spec.partition_by != "date":
            return CompactResult(table, 0, 0, 0)
        today = dt.datetime.now(KST).date()
        cutoff = before or (today.replace(day=1) if grain == "month" else today)
        table_dir = self.table_dir(table)
        with file_lock(table_dir / LOCK):
            planned = Manifest.load(table_dir)
        files_before = len(planned.entries)
        groups = _plan_groups(planned.entries, cutoff, grain)
        # Merge outside the lock so writers of other partitions are not held up, then publish
        # only the groups that no writer touched meanwhile.
        merged: list[tuple[list[Entry], Entry]] = []
        for key, entries in groups.items():
            frame = read_files(spec, [table_dir / e.file for e in entries]).sort(spec.sort)
            prefix = "month" if grain == "month" else "date"
            rel = f"{prefix}={key}/part-{_unique()}.parquet"
            size = _write_parquet(frame, table_dir / rel, row_group_size=COMPACTED_ROW_GROUP)
            partitions = sorted({p for e in entries for p in e.partitions})
            parts = sorted({p for e in entries for p in e.parts})
            merged.append(
                (entries, Entry(rel, partitions, parts, frame.height, size, frame.columns))
            )
        with file_lock(table_dir / LOCK):
            manifest = Manifest.load(table_dir)
            live = {e.file: e for e in manifest.entries}
            published = 0
            for entries, new in merged:
                if all(e.file in live for e in entries):
                    for e in entries:
                        manifest.retire(live[e.file])
                    manifest.entries.append(new)
                    published += 1
                else:
                    (table_dir / new.file).unlink(missing_ok=True)
            self._collect_garbage(table_dir, manifest, sweep_orphans=True)
            manifest.save(table_dir)
            files_after = len(manifest.entries)
        if refresh and published:
            self.refresh_catalog()
        return CompactResult(table, files_before, files_after, published)

    # -- housekeeping -------------------------------------------------------------------------

    def _collect_garbage(
        self, table_dir: Path, manifest: Manifest, *, sweep_orphans: bool = False
    ) -> None:
        horizon = time.time() - self.grace_s
        keep = []
        for retired in manifest.retired:
            if retired.at < horizon:
                (table_dir / retired.file).unlink(missing_ok=True)
            else:
                keep.append(retired)
        manifest.retired = keep
        if sweep_orphans:
            known = manifest.live_files() | {r.file for r in manifest.retired}
            for path in table_dir.glob("*=*/*.parquet"):
                rel = path.relative_to(table_dir).as_posix()
                if rel not in known and _abandoned(path, horizon):
                    path.unlink(missing_ok=True)
        for folder in table_dir.glob("*=*"):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()

    def sweep_unpublished(self) -> int:
        """Delete the files no manifest lists that a killed writer left behind (zero-byte ones
        included); returns how many. Safe beside live writers: theirs are kept."""
        swept = 0
        horizon = time.time() - self.grace_s
        for table in self.tables():
            table_dir = self.table_dir(table)
            with file_lock(table_dir / LOCK):
                manifest = Manifest.load(table_dir)
                known = manifest.live_files() | {r.file for r in manifest.retired}
                for path in table_dir.glob("*=*/*.parquet"):
                    if path.relative_to(table_dir).as_posix() in known:
                        continue
                    if _abandoned(path, horizon):
                        path.unlink(missing_ok=True)
                        swept += 1
        return swept

    def refresh_catalog(self) -> Path:
        from kis_pipeline.warehouse.catalog import build_catalog

        return build_catalog(self)


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


def _record_columns(table_dir: Path, manifest: Manifest) -> None:
    """Fill in the columns of files listed before the manifest recorded them (once per file)."""
    for entry in manifest.entries:
        if entry.columns is None:
            entry.columns = list(pl.read_parquet_schema(table_dir / entry.file))


def read_files(spec: TableSpec, files: list[Path]) -> pl.DataFrame:
    """Files of one table as one frame of its schema; a column an older file lacks is null."""
    return pl.read_parquet(files, schema=spec.schema, missing_columns="insert")


def _plan_groups(
    entries: list[Entry], cutoff: dt.date, grain: Literal["day", "month"]
) -> dict[str, list[Entry]]:
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        if grain == "month":
            months = {p[:7] for p in entry.partitions}
            if len(months) != 1:
                continue
            month = months.pop()
            first = dt.date.fromisoformat(f"{month}-01")
            next_month = (first + dt.timedelta(days=32)).replace(day=1)
            if next_month <= cutoff:
                groups.setdefault(month, []).append(entry)
        elif len(entry.partitions) == 1 and dt.date.fromisoformat(entry.partitions[0]) < cutoff:
            groups.setdefault(entry.partitions[0], []).append(entry)
    return {key: group for key, group in groups.items() if len(group) > 1}


def _discard_unpublished(table_dir: Path, files: Iterable[str]) -> None:
    """Delete those of `files` the manifest on disk does not list: a publish that failed (a full
    disk, say) leaves no file behind for the next sweep, and never removes a live one."""
    live = Manifest.load(table_dir).live_files()
    for rel in set(files) - live:
        (table_dir / rel).unlink(missing_ok=True)


def _write_parquet(frame: pl.DataFrame, path: Path, *, row_group_size: int | None = None) -> int:
    """Write, flush and fsync `frame` at `path` (a new, unique name); returns its size.

    A write that fails (a full disk, say) removes its partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "wb") as handle:
            frame.write_parquet(
                handle, compression="zstd", statistics=True, row_group_size=row_group_size
            )
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return path.stat().st_size


def _spec(table: str) -> TableSpec:
    try:
        return TABLES[table]
    except KeyError:
        raise WarehouseError(
            f"unknown table {table!r}; known tables: {', '.join(sorted(TABLES))}"
        ) from None


def _part_column(spec: TableSpec) -> str:
    for name in ("segment_id", "part"):
        if name in spec.schema:
            return name
    raise WarehouseError(f"{spec.name}: pieces need a segment_id column to be replaced alone")


def _unique() -> str:
    # The writer's pid is in the name, so a file a killed writer never published can be told
    # from one a live writer is about to publish.
    return f"{time.strftime('%Y%m%dT%H%M%S')}-p{os.getpid()}-{uuid.uuid4().hex[:12]}"


_WRITER = re.compile(r"-p(\d+)-[0-9a-f]{12}\.parquet$")


def _abandoned(path: Path, horizon: float) -> bool:
    """An unpublished file whose writer is gone (this machine), or older than the horizon."""
    found = _WRITER.search(path.name)
    if found is not None and not pid_alive(int(found.group(1))):
        return True
    return path.stat().st_mtime < horizon
