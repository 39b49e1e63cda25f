"""`kis-pipeline warehouse migrate`: a warehouse of the manifest layout into the lake.

The releases before DuckLake kept, per table, `parquet/<table>/_manifest.json` listing the live
Parquet files and the partitions each held (files of replaced partitions stayed on disk for a
while, unlisted: they are not data). Migration reads exactly the listed files, and writes each
table's partitions into the lake in one transaction, an empty partition (a closed day) included.
It can be run again: it replaces the same partitions with the same rows. The old files are left
where they are, for the user to delete once satisfied.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import polars as pl

from kis_pipeline.warehouse.checks import typed
from kis_pipeline.warehouse.store import Warehouse
from kis_pipeline.warehouse.tables import TABLES, TableSpec

OLD_DIR = "parquet"
MANIFEST = "_manifest.json"


class MigrateError(Exception):
    """The old warehouse cannot be read; the message says what is wrong."""


@dataclass
class MigrateResult:
    rows: dict[str, int] = field(default_factory=dict)
    partitions: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    old: Path | None = None

    def summary(self) -> str:
        if not self.rows and not self.skipped:
            return "nothing to migrate: no tables of the manifest layout under the warehouse"
        done = (
            f"migrated {len(self.rows)} table(s), {sum(self.partitions.values())} partitions, "
            f"{sum(self.rows.values()):,} rows into the lake"
        )
        skipped = f"; skipped unknown tables {', '.join(self.skipped)}" if self.skipped else ""
        return f"{done}{skipped}; the old files in {self.old} can be deleted once checked"


def old_tables(root: Path) -> Iterator[tuple[str, Path]]:
    folder = root / OLD_DIR
    if folder.is_dir():
        for table_dir in sorted(folder.iterdir()):
            if (table_dir / MANIFEST).is_file():
                yield table_dir.name, table_dir


Entries = list[tuple[str, list[str]]]


def live_entries(spec: TableSpec, table_dir: Path) -> Entries:
    """The files an old table's manifest lists, with their partitions; all must be there."""
    try:
        manifest = json.loads((table_dir / MANIFEST).read_text(encoding="utf-8"))
        entries = [(str(e["file"]), list(e["partitions"])) for e in manifest["entries"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MigrateError(f"{table_dir / MANIFEST} cannot be read: {exc}") from None
    missing = [f for f, _ in entries if not (table_dir / f).is_file()]
    if missing:
        raise MigrateError(
            f"{spec.name}: {len(missing)} file(s) its manifest lists are missing "
            f"(e.g. {table_dir / missing[0]}); restore them before migrating"
        )
    return entries


def read_old_table(spec: TableSpec, table_dir: Path, entries: Entries) -> dict[str, pl.DataFrame]:
    """The live rows of one old table by partition (every listed partition, even empty)."""
    if not entries:
        return {}
    keys = sorted({p for _, parts in entries for p in parts})
    rows = pl.read_parquet(
        [table_dir / f for f, _ in entries], schema=spec.schema, missing_columns="insert"
    )
    rows = typed(spec, rows).with_columns(spec.partition_expr().alias("_partition"))
    pieces = rows.partition_by("_partition", as_dict=True)
    by_key = {key[0]: part.drop("_partition") for key, part in pieces.items()}
    empty = pl.DataFrame(schema=spec.schema)
    return {key: by_key.get(key, empty) for key in keys}


def migrate(warehouse: Warehouse, *, progress: TextIO | None = None) -> MigrateResult:
    """Copy every table of the manifest layout under `warehouse.root` into its lake: every
    manifest is checked before anything is written, then each table is one transaction."""
    result = MigrateResult(old=warehouse.root / OLD_DIR)
    planned = []
    for name, table_dir in old_tables(warehouse.root):
        spec = TABLES.get(name)
        if spec is None:
            result.skipped.append(name)
        else:
            planned.append((spec, table_dir, live_entries(spec, table_dir)))
    for spec, table_dir, entries in planned:
        frames = read_old_table(spec, table_dir, entries)
        if frames:
            warehouse.write_partitions(spec.name, frames)
        result.rows[spec.name] = sum(f.height for f in frames.values())
        result.partitions[spec.name] = len(frames)
        if progress is not None:
            print(
                f"   {spec.name:24} {len(frames):>6} partitions {result.rows[spec.name]:>12,} rows",
                file=progress,
            )
    return result
