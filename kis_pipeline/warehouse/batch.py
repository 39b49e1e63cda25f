"""What a write replaces and what it reports: `Scope`, `Batch` (partition writes checked now and
committed together by `Warehouse.commit`), `WriteResult`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from kis_pipeline.warehouse.checks import check_partition, conform, spec_of
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
        checked = {key: check_partition(spec, key, conform(spec, f)) for key, f in frames.items()}
        if not checked:
            return
        if scope is not None and scope.whole:
            scope = None
        if scope is not None:
            if part is not None:
                raise WarehouseError(f"{table}: a piece ({part}) cannot be replaced by scope")
            checked = {key: within(spec, key, f, scope) for key, f in checked.items()}
        frames_ = list(checked.values())
        rows = pl.concat(frames_) if len(frames_) > 1 else frames_[0]
        self.writes.append(
            PendingWrite(
                spec,
                sorted(checked),
                rows,
                {key: f.height for key, f in checked.items()},
                scope,
                part,
                skipped=scope is not None and scope.empty,
            )
        )


def within(spec: TableSpec, partition: str, frame: pl.DataFrame, scope: Scope) -> pl.DataFrame:
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
