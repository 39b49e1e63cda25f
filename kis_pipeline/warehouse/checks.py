"""Frames checked against their table before any write: exact schema, one partition's rows,
unique keys; and rows read back typed by the table's schema."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import polars as pl

from kis_pipeline.warehouse.errors import SchemaMismatch, WarehouseError
from kis_pipeline.warehouse.tables import TABLES, TableSpec

_PARTITION = {"date": re.compile(r"^\d{4}-\d{2}-\d{2}$"), "year": re.compile(r"^\d{4}$")}


def spec_of(table: str) -> TableSpec:
    try:
        return TABLES[table]
    except KeyError:
        raise WarehouseError(
            f"unknown table {table!r}; known tables: {', '.join(sorted(TABLES))}"
        ) from None


def conform(spec: TableSpec, frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` in the table's column order; any difference in columns or dtypes is an error."""
    expected, actual = spec.schema, frame.schema
    if list(expected.items()) == list(actual.items()):
        return frame
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


PARTITION_LABEL = "__kis_partition"
"""Column `check_partitions` adds to say which partition each row was written for."""


def check_partitions(spec: TableSpec, frames: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """The rows of `frames` (partition -> its rows), in the table's columns plus
    `PARTITION_LABEL`; a `WarehouseError` if a partition's name is not one, or its frame holds
    another partition's rows or a key twice.

    A range backfill writes hundreds of small partitions at once: the rows are checked as one
    frame, since per-partition checks cost more than the rest of the write.
    """
    table = spec.name
    pattern = _PARTITION[spec.partition_by]
    for partition in frames:
        if not pattern.match(partition):
            raise WarehouseError(
                f"{table}: partition {partition!r} is not a {spec.partition_by} "
                f"({'YYYY-MM-DD' if spec.partition_by == 'date' else 'YYYY'})"
            )
    keys = list(frames)
    conformed = [conform(spec, frame) for frame in frames.values()]
    rows = pl.concat(conformed, how="vertical") if len(conformed) > 1 else conformed[0]
    heights = [frame.height for frame in conformed]
    labels = pl.Series(PARTITION_LABEL, keys, dtype=pl.String)
    rows = rows.with_columns(labels.gather(np.repeat(np.arange(len(keys)), heights)))
    stray = rows.filter(spec.partition_expr() != pl.col(PARTITION_LABEL))
    if stray.height:
        first = stray.row(0, named=True)
        count = stray.filter(pl.col(PARTITION_LABEL) == first[PARTITION_LABEL]).height
        raise WarehouseError(
            f"{table}: {count} rows do not belong to partition {first[PARTITION_LABEL]} "
            f"(e.g. {spec.partition_column}={first[spec.partition_column]})"
        )
    if spec.key:
        dupes = rows.filter(pl.struct(*spec.key, PARTITION_LABEL).is_duplicated())
        if dupes.height:
            partition = dupes[PARTITION_LABEL][0]
            count = dupes.filter(pl.col(PARTITION_LABEL) == partition).height
            raise WarehouseError(f"{table}: {count} rows share a key {spec.key} in {partition}")
    return rows


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
