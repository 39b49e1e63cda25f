"""Records the parsers refused: what KIS sent, raw, and why it was not stored.

A record that breaks its table's rules (`kis.parse.RecordSpec`) costs that record only: it is
left out of the frame and kept here as a `Reject` with the raw payload, so nothing KIS sent
disappears silently. Every `KisClient` carries a `RejectLog`; whoever owns the client decides
where the rejects go by giving the log a sink (the Dagster resource writes them to the
warehouse's `rest_rejects` table when the client closes). A log without a sink keeps them for
the caller to read.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kis_pipeline.common.clock import KST


@dataclass(frozen=True)
class Reject:
    """One refused record. `field` is KIS's name of the offending field (None when the record
    as a whole is wrong); `date` is the record's own date when it could be read."""

    received_at: dt.datetime
    endpoint: str
    tr_id: str
    table: str
    symbol: str | None
    date: dt.date | None
    field: str | None
    reason: str
    raw: str


def raw_json(record: Mapping[str, Any]) -> str:
    """A record as KIS sent it, as JSON text (Korean kept readable)."""
    return json.dumps(dict(record), ensure_ascii=False, separators=(",", ":"))


def now_kst() -> dt.datetime:
    return dt.datetime.now(KST)


class RejectLog:
    """The rejects of one client, thread-safe. `flush()` hands them to the sink, if any."""

    def __init__(self, sink: Callable[[Sequence[Reject]], object] | None = None) -> None:
        self._sink = sink
        self._pending: list[Reject] = []
        self._all: list[Reject] = []
        self._lock = threading.Lock()

    def add(self, rejects: Iterable[Reject]) -> None:
        batch = list(rejects)
        with self._lock:
            self._pending.extend(batch)
            self._all.extend(batch)

    def __len__(self) -> int:
        with self._lock:
            return len(self._all)

    def records(self, *, table: str | None = None, symbol: str | None = None) -> list[Reject]:
        """Every reject of this client's life (flushed or not), optionally of one table/symbol."""
        with self._lock:
            return [
                r
                for r in self._all
                if (table is None or r.table == table) and (symbol is None or r.symbol == symbol)
            ]

    def count(self, *, table: str | None = None, symbol: str | None = None) -> int:
        return len(self.records(table=table, symbol=symbol))

    def flush(self) -> int:
        """Hand the rejects not flushed yet to the sink; returns how many."""
        with self._lock:
            pending, self._pending = self._pending, []
        if pending and self._sink is not None:
            self._sink(pending)
        return len(pending)
