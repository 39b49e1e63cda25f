"""Frames checked against their table before any write: exact schema, one partition's rows,
unique keys; and rows read back typed by the table's schema."""

from __future__ import annotations

import re

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


def check_partition(spec: TableSpec, partition: str, frame: pl.DataFrame) -> pl.DataFrame:
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
