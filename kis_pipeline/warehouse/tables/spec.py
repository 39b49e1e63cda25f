"""What a warehouse table is: schema, partitioning, unique key, sort order and lake layout.

The tables themselves are declared beside this module, one module per family; every one is
registered in `TABLES` when the warehouse is imported. `register_table` adds one more (a test's,
a benchmark's).

Two partitionings, on purpose: `partition_by` is the unit a write replaces (a day, a year), what
Dagster materializes; `Layout.partitioned_by` is how DuckLake groups data files on disk (by
default one folder per year), what queries prune by. `Layout` is the knob to tune: the layout
benchmark (bench/README.md) sets its defaults, and a change is applied to an existing table on
its next write (new files follow it; maintenance rewrites old ones as it merges them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

PartitionBy = Literal["date", "year"]

# Rows per Parquet row group: small groups let a query for one symbol skip most of a year's file
# by min/max statistics (bench/README.md "DuckDB layout" measured 16,384 against the default).
ROW_GROUP_SIZE = 16_384


@dataclass(frozen=True)
class Layout:
    """How DuckLake stores a table: file partitioning (SQL expressions on its columns), the row
    order within files (None: the table's `sort`), row group size, and the largest insert kept
    in the catalog instead of a file (None: DuckLake's default)."""

    partitioned_by: tuple[str, ...]
    sorted_by: tuple[str, ...] | None = None
    row_group_size: int | None = ROW_GROUP_SIZE
    inline_rows: int | None = None

    def sort(self, spec: TableSpec) -> tuple[str, ...]:
        return self.sorted_by if self.sorted_by is not None else spec.sort

    def describe(self, spec: TableSpec) -> str:
        """The table's comment in the lake: its description and this layout (so a changed
        layout is seen, and applied, on the next write)."""
        parts = [
            f"partitioned by {', '.join(self.partitioned_by) or 'nothing'}",
            f"sorted by {', '.join(self.sort(spec))}",
        ]
        if self.row_group_size:
            parts.append(f"row groups of {self.row_group_size:,}")
        if self.inline_rows is not None:
            parts.append(f"inlined up to {self.inline_rows} rows")
        return f"{spec.description} [{'; '.join(parts)}]"

    def statements(self, spec: TableSpec) -> list[str]:
        """The SQL that gives the lake's table this partitioning and sort order (idempotent)."""
        name = f'"{spec.name}"'
        return [
            f"ALTER TABLE {name} SET PARTITIONED BY ({', '.join(self.partitioned_by)})"
            if self.partitioned_by
            else f"ALTER TABLE {name} RESET PARTITIONED BY",
            f"ALTER TABLE {name} SET SORTED BY ({', '.join(self.sort(spec))})",
        ]

    def options(self, spec: TableSpec) -> list[str]:
        """The DuckLake options of the table (set once it exists)."""
        found = []
        options = {
            "parquet_row_group_size": self.row_group_size,
            "data_inlining_row_limit": self.inline_rows,
        }
        for option, value in options.items():
            if value is not None:
                found.append(
                    f"CALL ducklake_set_option('lake', '{option}', {int(value)}, "
                    f"table_name => '{spec.name}')"
                )
        return found


@dataclass(frozen=True)
class TableSpec:
    """One warehouse table. `partition_column` is a Date column; `partition_by` its grain."""

    name: str
    schema: pl.Schema
    partition_by: PartitionBy
    partition_column: str
    key: tuple[str, ...]
    sort: tuple[str, ...]
    description: str
    # How the lake stores it; None: `yearly(partition_column)`.
    layout: Layout | None = None
    # The table's quality gates: the checks (`<table>_<name>`) that fail the run writing it
    # when they fail (blocking asset checks in Dagster). Other checks only report.
    gates: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        missing = [
            c for c in (self.partition_column, *self.key, *self.sort) if c not in self.schema
        ]
        if missing:
            raise ValueError(f"table {self.name}: columns {missing} are not in its schema")
        if self.schema[self.partition_column] != pl.Date:
            raise ValueError(f"table {self.name}: partition column must be a Date")

    def partition_expr(self) -> pl.Expr:
        """The partition string of each row: `YYYY-MM-DD` or `YYYY`."""
        column = pl.col(self.partition_column)
        if self.partition_by == "year":
            return column.dt.year().cast(pl.String)
        return column.dt.strftime("%Y-%m-%d")


def yearly(column: str) -> Layout:
    """One folder of files per year: O(years) files per table once merged."""
    return Layout((f"year({column})",))


def layout_of(spec: TableSpec) -> Layout:
    return spec.layout if spec.layout is not None else yearly(spec.partition_column)


TABLES: dict[str, TableSpec] = {}


def register_table(spec: TableSpec) -> TableSpec:
    existing = TABLES.get(spec.name)
    if existing is not None and existing != spec:
        raise ValueError(f"table {spec.name} is already registered with a different spec")
    TABLES[spec.name] = spec
    return spec


@dataclass(frozen=True)
class ViewSpec:
    """A view over one table (`base`), created with it: `select` is the view's query."""

    name: str
    base: str
    select: str

    def sql(self, *, temp: bool = False) -> str:
        kind = "TEMP VIEW" if temp else "VIEW"
        return f'CREATE OR REPLACE {kind} "{self.name}" AS {self.select}'


VIEWS: dict[str, ViewSpec] = {}


def register_view(view: ViewSpec) -> ViewSpec:
    VIEWS[view.name] = view
    return view
