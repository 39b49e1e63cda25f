"""The spool writer: a thread that appends received frames to segments and seals them.

The collector's receive loop never touches the disk: it stamps each message (seq, received_ns)
and hands it to `SpoolWriter.put`, which only appends to an in-memory queue bounded in bytes.
The thread drains the queue in batches (one large `write` per batch) into the open segment and
seals it (trailer, fsync, rename into sealed/) every `seal_interval_s`, or sooner when it
reaches `max_segment_frames` / `max_segment_bytes`. When the queue is over its bound, `put`
returns False and the receive loop waits for room (`wait_for_room`) instead of reading more:
TCP then holds the server back, so memory stays bounded at any rate and nothing received is
dropped. At 100k ticks/s the writer moves ~30 MB/s, far below what a disk takes.

Crash safety: the next segment is created (header written and fsynced) before the previous one
is renamed into sealed/, so at any moment an open segment exists whose header records the
sessions still open; recovery uses it to end those sessions after a kill -9.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kis_pipeline.kis.ws.columns import H0STCNT0, TRADE_TRS
from kis_pipeline.streaming import heartbeat
from kis_pipeline.streaming.spool import (
    CONTROL,
    SUFFIX,
    SegmentFile,
    Spool,
    encode_control,
    encode_record,
    fsync_dir,
    new_id,
)

log = logging.getLogger(__name__)

MiB = 1024 * 1024
_TRADE_PREFIX = tuple(f"0|{tr}|".encode() for tr in TRADE_TRS)
_BSOP_DATE_FIELD = H0STCNT0.index("BSOP_DATE")


@dataclass(frozen=True)
class WriterConfig:
    seal_interval_s: float = 5.0
    max_segment_frames: int = 100_000
    max_segment_bytes: int = 64 * MiB
    queue_max_bytes: int = 64 * MiB
    heartbeat_interval_s: float = 1.0
    # Off only for benchmarks that measure everything but the disk; crash safety needs it.
    fsync: bool = True


@dataclass(frozen=True)
class SealedSegment:
    segment_id: str
    path: Path
    frames: int
    records: int
    bytes: int
    first_ns: int | None  # receive time of the first frame in it
    last_ns: int | None
    sealed_ns: int


@dataclass
class WriterStats:
    frames: int = 0
    records: int = 0
    bytes: int = 0
    segments: int = 0
    queue_peak_bytes: int = 0
    records_by_tr: Counter[str] | None = None

    def __post_init__(self) -> None:
        if self.records_by_tr is None:
            self.records_by_tr = Counter()


class FrameQueue:
    """Thread-safe FIFO with a byte budget; the producer learns when it is over it."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: collections.deque[tuple[int, int, int, Any]] = collections.deque()
        self._bytes = 0
        self.peak = 0
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self.ready = threading.Event()

    def put(self, item: tuple[int, int, int, Any], size: int) -> bool:
        with self._lock:
            self._items.append(item)
            self._bytes += size
            if self._bytes > self.peak:
                self.peak = self._bytes
            room = self._bytes <= self.max_bytes
        if not self.ready.is_set():
            self.ready.set()
        return room

    def drain(self) -> list[tuple[int, int, int, Any]]:
        with self._lock:
            items = list(self._items)
            self._items.clear()
            self._bytes = 0
            self._room.notify_all()
        return items

    def wait_for_room(self, timeout: float) -> bool:
        """Block until the queue is at most half full (hysteresis), or `timeout` passes."""
        deadline = time.monotonic() + timeout
        with self._room:
            while self._bytes > self.max_bytes // 2:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._room.wait(left)
        return True

    def __len__(self) -> int:
        return len(self._items)


class SpoolWriter:
    """Owns the open segment of one collector; see the module docstring."""

    def __init__(
        self,
        spool: Spool,
        key_id: str,
        *,
        collector_id: str,
        config: WriterConfig | None = None,
        on_seal: Callable[[SealedSegment], None] | None = None,
        status: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.spool = spool
        self.key_id = key_id
        self.collector_id = collector_id
        self.config = config or WriterConfig()
        self.on_seal = on_seal
        self._status = status or dict
        self.queue = FrameQueue(self.config.queue_max_bytes)
        self.stats = WriterStats()
        self.error: BaseException | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._open_dir = spool.open_dir(key_id)
        self._heartbeat_path = spool.heartbeat_path(key_id)
        # Writer-thread state.
        self._segment: SegmentFile | None = None
        self._index = 0
        self._opened_at = 0.0
        self._seg_frames = 0
        self._seg_records = 0
        self._seg_first_ns: int | None = None
        self._seg_last_ns: int | None = None
        self._seg_has_content = False
        self._seg_date_checked = False
        self._last_seq = 0
        self._session: dict[str, Any] | None = None  # the open session, for segment headers
        self._session_date: str | None = None
        self._next_beat = 0.0

    # -- producer side (event loop thread) ----------------------------------------------------

    def put(self, kind: int, seq: int, received_ns: int, payload: bytes) -> bool:
        """Queue one message; False when the queue is over its bound (call wait_for_room)."""
        return self.queue.put((kind, seq, received_ns, payload), len(payload))

    def put_control(self, seq: int, received_ns: int, body: dict[str, Any]) -> bool:
        return self.queue.put((CONTROL, seq, received_ns, body), 256)

    def wait_for_room(self, timeout: float = 1.0) -> bool:
        return self.queue.wait_for_room(timeout)

    @property
    def failed(self) -> bool:
        return self.error is not None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self.spool.ensure(self.key_id)
        self._open_segment()
        self._thread = threading.Thread(target=self._run, name="kis-spool-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        """Write everything queued, seal the last segment, stop the thread."""
        self._stopping.set()
        self.queue.ready.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # -- writer thread ------------------------------------------------------------------------

    def _run(self) -> None:
        config = self.config
        try:
            while True:
                self.queue.ready.wait(self._wait_time())
                self.queue.ready.clear()
                batch = self.queue.drain()
                start = 0
                while start < len(batch):
                    start = self._write(batch, start)
                    if self._full():
                        self._seal(reopen=True)
                now = time.monotonic()
                if self._seg_has_content and now - self._opened_at >= config.seal_interval_s:
                    self._seal(reopen=True)
                if now >= self._next_beat:
                    self._beat()
                if self._stopping.is_set() and not len(self.queue):
                    break
            if self._seg_has_content:
                self._seal(reopen=False)
            elif self._segment is not None:
                self._segment.abandon()
                self._segment = None
            self._beat(stopped=True)
        except BaseException as exc:  # surfaced to the collector, which stops
            log.exception("spool writer failed")
            self.error = exc
            self.queue.drain()

    def _wait_time(self) -> float:
        if self._stopping.is_set():
            return 0.0
        left = self.config.seal_interval_s - (time.monotonic() - self._opened_at)
        return max(0.005, min(left if self._seg_has_content else 1.0, 0.25))

    def _full(self) -> bool:
        segment = self._segment
        return self._seg_frames >= self.config.max_segment_frames or (
            segment is not None and segment.bytes >= self.config.max_segment_bytes
        )

    def _write(self, batch: list[tuple[int, int, int, Any]], start: int) -> int:
        """Append batch[start:] until the segment is full; returns where it stopped."""
        parts: list[bytes] = []
        room_frames = self.config.max_segment_frames - self._seg_frames
        room_bytes = self.config.max_segment_bytes - (
            self._segment.bytes if self._segment is not None else 0
        )
        size = 0
        stop = len(batch)
        append = parts.append
        stats = self.stats
        by_tr = stats.records_by_tr
        assert by_tr is not None
        frames = records = 0
        first_ns = None
        last_ns = 0
        for position in range(start, len(batch)):
            # At least one item per call, so a tiny limit cannot stall the writer.
            if position > start and (frames >= room_frames or size >= room_bytes):
                stop = position
                break
            kind, seq, received_ns, payload = batch[position]
            if kind == CONTROL:
                self._track(payload)
                append(encode_control(seq, received_ns, payload))
                continue
            size += len(payload)
            append(encode_record(kind, seq, received_ns, payload))
            frames += 1
            if first_ns is None:
                first_ns = received_ns
            last_ns = received_ns
            # `0|TR_ID|count|...`: the record count, for progress and stats only.
            bar1 = payload.find(b"|", 2)
            bar2 = payload.find(b"|", bar1 + 1) if bar1 > 0 else -1
            if bar2 > 0 and payload[bar1 + 1 : bar2].isdigit():
                n = int(payload[bar1 + 1 : bar2])
                records += n
                by_tr[payload[2:bar1].decode("ascii", "replace")] += n
            if not self._seg_date_checked and payload.startswith(_TRADE_PREFIX):
                self._seg_date_checked = True
                self._learn_session_date(payload)
            self._last_seq = seq
        data = b"".join(parts)
        segment = self._segment
        assert segment is not None
        segment.write(data)
        self._seg_has_content = True
        self._seg_frames += frames
        self._seg_records += records
        if first_ns is not None:
            if self._seg_first_ns is None:
                self._seg_first_ns = first_ns
            self._seg_last_ns = last_ns
        stats.frames += frames
        stats.records += records
        stats.bytes += len(data)
        stats.queue_peak_bytes = self.queue.peak
        return stop

    def _track(self, body: dict[str, Any]) -> None:
        """Follow session events, so each new segment's header knows the open session."""
        kind = body.get("type")
        current = self._session["session_id"] if self._session is not None else None
        if kind == "session_start":
            self._session = {
                "session_id": body["session_id"],
                "started_ns": body["started_ns"],
                "subscriptions": 0,
            }
        elif kind == "subscriptions" and self._session and current == body.get("session_id"):
            self._session["subscriptions"] = int(body.get("active") or 0)
        elif kind == "session_end" and current == body.get("session_id"):
            self._session = None

    def _learn_session_date(self, payload: bytes) -> None:
        fields = payload.split(b"|", 3)[-1].split(b"^", _BSOP_DATE_FIELD + 1)
        if len(fields) > _BSOP_DATE_FIELD:
            value = fields[_BSOP_DATE_FIELD]
            if len(value) == 8 and value.isdigit():
                self._session_date = value.decode()

    def _open_segment(self) -> None:
        segment_id = new_id("seg")
        path = self._open_dir / f"{segment_id}{SUFFIX}"
        segment = SegmentFile(path)
        self._index += 1
        header = {
            "type": "segment",
            "segment_id": segment_id,
            "collector_id": self.collector_id,
            "key_id": self.key_id,
            "index": self._index,
            "pid": os.getpid(),
            "created_ns": time.time_ns(),
            "session": dict(self._session) if self._session else None,
            "session_date": self._session_date,
        }
        segment.write(encode_control(self._last_seq, header["created_ns"], header))
        if self.config.fsync:
            segment.sync()
            fsync_dir(self._open_dir)
        self._segment = segment
        self._opened_at = time.monotonic()
        self._seg_frames = self._seg_records = 0
        self._seg_first_ns = self._seg_last_ns = None
        self._seg_has_content = False
        self._seg_date_checked = False

    def _seal(self, *, reopen: bool) -> None:
        segment = self._segment
        assert segment is not None
        sealed_ns = time.time_ns()
        trailer = {
            "type": "seal",
            "segment_id": segment.segment_id,
            "frames": self._seg_frames,
            "records": self._seg_records,
            "sealed_ns": sealed_ns,
        }
        segment.write(encode_control(self._last_seq, sealed_ns, trailer))
        if self.config.fsync:
            segment.sync()
        segment.close()
        info = (segment, self._seg_frames, self._seg_records, self._seg_first_ns, self._seg_last_ns)
        # The next segment exists (header durable) before this one leaves open/.
        if reopen:
            self._open_segment()
        else:
            self._segment = None
        path = self.spool.seal(segment.path)
        self.stats.segments += 1
        sealed = SealedSegment(
            segment_id=info[0].segment_id,
            path=path,
            frames=info[1],
            records=info[2],
            bytes=info[0].bytes,
            first_ns=info[3],
            last_ns=info[4],
            sealed_ns=sealed_ns,
        )
        if self.on_seal is not None:
            try:
                self.on_seal(sealed)
            except Exception:
                log.exception("on_seal callback failed for %s", sealed.segment_id)

    def _beat(self, *, stopped: bool = False) -> None:
        self._next_beat = time.monotonic() + self.config.heartbeat_interval_s
        data: dict[str, Any] = {
            "pid": os.getpid(),
            "key_id": self.key_id,
            "collector_id": self.collector_id,
            "updated_ns": time.time_ns(),
            "segment": self._segment.segment_id if self._segment else None,
            "segments_sealed": self.stats.segments,
            "frames": self.stats.frames,
            "records": self.stats.records,
            "session": dict(self._session) if self._session else None,
        }
        data.update(self._status())
        if stopped:
            data["stopped"] = True
        try:
            heartbeat.write_heartbeat(self._heartbeat_path, data)
        except OSError as exc:
            log.warning("cannot write the heartbeat file: %s", exc)
