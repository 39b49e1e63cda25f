"""In-process persistence: promote sealed segments as they appear (`kis-pipeline stream --persist`).

The same `promote_segment` the Dagster job runs, in a thread beside the collector, for one
machine without the Dagster daemon and for scripts. Segments are promoted oldest first; one that
fails is retried after a pause, and `finish()` makes a last pass so that, when the command exits,
every sealed segment is in the warehouse (or reported as failed).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kis_pipeline.streaming.promote import PromoteResult, SegmentMissing, promote_segment
from kis_pipeline.streaming.spool import Spool
from kis_pipeline.streaming.writer import SealedSegment
from kis_pipeline.warehouse import Warehouse

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5.0


@dataclass
class PromoterStats:
    segments: int = 0
    frames: int = 0
    records: int = 0
    rejects: int = 0
    seconds: float = 0.0
    failures: dict[str, str] = field(default_factory=dict)  # segment -> last error


class Promoter:
    def __init__(
        self,
        warehouse: Warehouse,
        spool: Spool,
        *,
        poll_s: float = 1.0,
        on_result: Callable[[PromoteResult], None] | None = None,
    ) -> None:
        self.warehouse = warehouse
        self.spool = spool
        self.poll_s = poll_s
        self.on_result = on_result
        self.stats = PromoterStats()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._retry_at: dict[str, float] = {}
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="kis-promoter", daemon=True)
        self._thread.start()

    def notify(self, sealed: SealedSegment | None = None) -> None:
        """A segment was sealed: look now rather than at the next poll."""
        self._wake.set()

    def finish(self, timeout: float | None = None) -> PromoterStats:
        """Stop after promoting everything sealed so far (failed ones are tried once more)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        return self.stats

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            self.pass_once()
        self._retry_at.clear()
        self.pass_once()

    def pass_once(self) -> int:
        """Promote every sealed segment that is due; returns how many succeeded."""
        done = 0
        now = time.monotonic()
        for segment_id in self.spool.sealed_ids():
            if self._retry_at.get(segment_id, 0.0) > now:
                continue
            try:
                result = promote_segment(self.warehouse, self.spool, segment_id)
            except SegmentMissing:
                continue  # another process (the Dagster job) took it
            except Exception as exc:
                log.exception("could not persist segment %s", segment_id)
                self.stats.failures[segment_id] = f"{type(exc).__name__}: {exc}"
                self._retry_at[segment_id] = time.monotonic() + RETRY_AFTER_S
                continue
            self.stats.failures.pop(segment_id, None)
            self._retry_at.pop(segment_id, None)
            stats = self.stats
            stats.segments += 1
            stats.frames += result.frames
            stats.records += result.records
            stats.rejects += result.rejects
            stats.seconds += result.seconds
            done += 1
            if self.on_result is not None:
                self.on_result(result)
        return done
