"""Writing a run's frame as one warehouse partition per day, and the metadata it reports.

A backfill run covers many partitions: all are replaced in one lake transaction (an empty frame
records a closed day), one catalog commit for the run instead of one per day. A
`Scope` limits the replacement to the symbols a run was restricted to, and keeps the stored
rows of those it failed to fetch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import dagster as dg
import polars as pl

from kis_pipeline.kis.client import KisClient
from kis_pipeline.lib.metadata import (
    client_metadata,
    frame_metadata,
    metadata_value,
    snapshot_metadata,
)
from kis_pipeline.lib.progress import Progress

# The skipped runs' results are the lib's; the assets import them from here with the writes.
from kis_pipeline.lib.skips import skipped as skipped
from kis_pipeline.lib.skips import skipped_in_paper as skipped_in_paper
from kis_pipeline.warehouse import TABLES, Scope, Warehouse, WriteResult


@dataclass(frozen=True)
class Written:
    partitions: int
    rows: int
    bytes: int
    snapshot: int | None = None  # the lake snapshot the write committed

    @classmethod
    def of(cls, results: Sequence[WriteResult]) -> Written:
        """What a batch of partition writes wrote, with the newest snapshot they made."""
        return cls(
            len(results),
            sum(r.rows for r in results),
            sum(r.bytes for r in results),
            max((r.snapshot for r in results if r.snapshot is not None), default=None),
        )


def write_days(
    warehouse: Warehouse,
    table: str,
    frame: pl.DataFrame,
    days: Iterable[dt.date],
    *,
    scope: Scope | None = None,
) -> Written:
    """Replace the partition (or the rows `scope` names) of every day in `days` with that
    day's rows of `frame`."""
    column = TABLES[table].partition_column
    by_day = {key[0]: part for key, part in frame.partition_by(column, as_dict=True).items()}
    frames = {day.isoformat(): by_day.get(day, frame.clear()) for day in sorted(set(days))}
    return Written.of(warehouse.write_partitions(table, frames, scope=scope))


def write_one(
    warehouse: Warehouse,
    table: str,
    partition: str,
    frame: pl.DataFrame,
    *,
    scope: Scope | None = None,
) -> Written:
    return Written.of([warehouse.write_partition(table, partition, frame, scope=scope)])


def run_metadata(
    frame: pl.DataFrame,
    written: Written | None,
    client: KisClient | None = None,
    **extra: object,
) -> dict[str, dg.MetadataValue]:
    """Rows, bytes, a preview and (when the run used KIS) calls, retries and limiter wait."""
    meta = frame_metadata(frame, bytes_written=written.bytes if written else 0)
    meta["partitions_written"] = dg.MetadataValue.int(written.partitions if written else 0)
    meta.update(snapshot_metadata(written.snapshot if written else None))
    if client is not None:
        meta.update(client_metadata(client))
    else:
        meta.update(
            {
                "calls": dg.MetadataValue.int(0),
                "retries": dg.MetadataValue.int(0),
                "limiter_wait_s": dg.MetadataValue.float(0.0),
            }
        )
    for name, value in extra.items():
        meta[name] = metadata_value(value)
    return meta


def fail_rejected(
    table: str, failures: dict[str, str], what: str = "keys", *, advice: str = ""
) -> None:
    """Fail the run, once every other key's rows are written, naming the keys KIS rejected
    (and what to do about them, `advice`)."""
    if not failures:
        return
    advice = f"; {advice}" if advice else ""
    raise dg.Failure(
        f"{table}: KIS rejected {len(failures)} of the {what} (they keep their stored rows; "
        f"the others' are written{advice}): "
        + "; ".join(f"{k}: {v}" for k, v in sorted(failures.items())[:5]),
        metadata={"failures": dg.MetadataValue.json(failures)},
    )


def report_calls(progress: Progress, client: KisClient, **values: object) -> None:
    """Publish the client's counters to `kis-pipeline backfill`'s progress display."""
    snap = client.stats.snapshot()
    progress.update(
        calls=snap["calls"],
        retries=snap["retries"],
        limiter_wait_s=snap["limiter_wait_s"],
        **values,
    )


def report_written(progress: Progress, written: Written, **values: object) -> None:
    progress.finish(
        partitions_done=written.partitions, rows=written.rows, bytes=written.bytes, **values
    )
