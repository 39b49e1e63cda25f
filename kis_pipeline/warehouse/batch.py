"""What a write replaces and what it reports: `Scope`, `Batch` (partition writes checked now and
committed together by `Warehouse.commit`), `WriteResult`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from kis_pipeline.warehouse.checks import PARTITION_LABEL, check_partitions, spec_of
from kis_pipeline.warehouse.errors import WarehouseError
from kis_pipeline.warehouse.tables import TableSpec


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
class PendingWrite:
    """One `Batch.add`: a table's partitions, checked, waiting for the commit."""

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

    writes: list[PendingWrite] = field(default_factory=list)

    def add(
        self,
        table: str,
        frames: Mapping[str, pl.DataFrame],
        *,
        part: str | None = None,
        scope: Scope | None = None,
    ) -> None:
        spec = spec_of(table)
        if not frames:
            return
        if scope is not None and scope.whole:
            scope = None
        if scope is not None and part is not None:
            raise WarehouseError(f"{table}: a piece ({part}) cannot be replaced by scope")
        rows = check_partitions(spec, frames)
        if scope is not None:
            rows = within(spec, rows, scope)
        heights = dict(rows.group_by(PARTITION_LABEL).len().iter_rows())
        self.writes.append(
            PendingWrite(
                spec,
                sorted(frames),
                rows.drop(PARTITION_LABEL),
                {key: heights.get(key, 0) for key in frames},
                scope,
                part,
                skipped=scope is not None and scope.empty,
            )
        )


def within(spec: TableSpec, rows: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    """The rows (labelled by partition, `check_partitions`) a scoped write puts in: those of
    kept values are dropped, and a row outside `only` is an error."""
    rows = rows.filter(~pl.col(scope.by).is_in(sorted(scope.keep)))
    if scope.only is not None:
        outside = rows.filter(~pl.col(scope.by).is_in(sorted(scope.only)))
        if outside.height:
            partition = outside[PARTITION_LABEL][0]
            count = outside.filter(pl.col(PARTITION_LABEL) == partition).height
            raise WarehouseError(
                f"{spec.name}: {count} rows in {partition} are outside the "
                f"{scope.by} values this write replaces (e.g. {outside[scope.by][0]})"
            )
    return rows
