"""`rest_rejects`: the REST records (and master-file lines) the parsers refused, kept raw.

A client's reject log (`kis.rejects.RejectLog`) is flushed here as one batch: one piece per
received day, named by a batch id, so batches of concurrent runs never replace each other and a
day's rejects accumulate as a log. `rest_rejects_since` reads what a command's runs added.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Protocol

import polars as pl

from kis_pipeline.common.clock import KST
from kis_pipeline.warehouse.store import Warehouse
from kis_pipeline.warehouse.tables import TABLES

TABLE = "rest_rejects"


class RefusedRecord(Protocol):
    """A refused record as the client logs it (`kis.rejects.Reject`); the warehouse stores any
    record with these fields, so it needs nothing from the client."""

    @property
    def received_at(self) -> dt.datetime: ...
    @property
    def endpoint(self) -> str: ...
    @property
    def tr_id(self) -> str: ...
    @property
    def table(self) -> str: ...
    @property
    def symbol(self) -> str | None: ...
    @property
    def date(self) -> dt.date | None: ...
    @property
    def field(self) -> str | None: ...
    @property
    def reason(self) -> str: ...
    @property
    def raw(self) -> str: ...


def rejects_frame(rejects: Sequence[RefusedRecord], batch_id: str) -> pl.DataFrame:
    """The rows of `rest_rejects` for one batch."""
    return pl.DataFrame(
        {
            "received_date": [r.received_at.astimezone(KST).date() for r in rejects],
            "received_at": [r.received_at for r in rejects],
            "batch_id": [batch_id] * len(rejects),
            "record": list(range(len(rejects))),
            "endpoint": [r.endpoint for r in rejects],
            "tr_id": [r.tr_id or None for r in rejects],
            "target_table": [r.table for r in rejects],
            "symbol": [r.symbol for r in rejects],
            "date": [r.date for r in rejects],
            "field": [r.field for r in rejects],
            "reason": [r.reason for r in rejects],
            "raw": [r.raw for r in rejects],
        },
        schema=TABLES[TABLE].schema,
    )


def write_rejects(warehouse: Warehouse, rejects: Sequence[RefusedRecord]) -> int:
    """Append `rejects` to `rest_rejects` as one new batch; returns the rows written."""
    if not rejects:
        return 0
    batch_id = uuid.uuid4().hex
    frame = rejects_frame(rejects, batch_id)
    pieces = frame.partition_by("received_date", as_dict=True)
    warehouse.write_partitions(
        TABLE, {day.isoformat(): piece for (day,), piece in pieces.items()}, part=batch_id
    )
    return frame.height


def rest_rejects_since(warehouse: Warehouse, since: dt.datetime) -> pl.DataFrame:
    """The rejects received at or after `since` (an aware datetime)."""
    first = since.astimezone(KST).date()
    keys = [p for p in warehouse.partitions(TABLE) if p >= first.isoformat()]
    if not keys:
        return pl.DataFrame(schema=TABLES[TABLE].schema)
    return warehouse.read(TABLE, keys).filter(pl.col("received_at") >= since)
