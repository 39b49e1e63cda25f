"""Spool segments: the on-disk format of received frames and the spool folders.

Layout under `<KIS_WAREHOUSE>/spool/`:

    open/<key_id>/<segment>.seg   being appended to by the collector of that app key
    open/<key_id>.lock            flock held by that collector while it runs
    sealed/<segment>.seg          complete and fsynced, waiting for persistence (`backlog()`)
    done/<segment>.seg            persisted; kept for reruns and audits, purged after a while
    sessions/                     persistence's bookkeeping of stream sessions (session_ledger.py)
    heartbeat-<key_id>.json       the collector's liveness (heartbeat.py)

Open segments live in a folder per app key so that collectors sharded over several keys can
share one warehouse; sealed and done segments are shared, their ids are unique across hosts,
processes and restarts.

Segment file: the magic `KISSEG1\\n`, then records, little endian:

    0xA5 | kind u8 | length u32 | seq i64 | received_ns i64 | payload[length] | crc32 u32

The CRC covers kind..payload, so a torn or zero-filled tail is recognised. Kinds:
- RAW (1): a message exactly as the server sent it: a data frame, or anything that was neither a
  data frame nor JSON (kept so that persistence counts and keeps it);
- DECRYPTED (2): an encrypted frame decrypted at receipt, as `0|TR_ID|count|fields`; the AES key
  of the session never reaches the disk;
- CONTROL (3): JSON the collector writes: the segment header (`segment`, always first), session
  events (`session_start`, `subscriptions`, `session_end`) and the `seal` trailer.

A sealed segment always parses to its end. An open one may end in a torn record after a crash;
`recovery.py` keeps its complete records, truncates the rest and seals it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAGIC = b"KISSEG1\n"
SYNC = 0xA5
RAW = 1
DECRYPTED = 2
CONTROL = 3
KINDS = (RAW, DECRYPTED, CONTROL)
SUFFIX = ".seg"

_HEAD = struct.Struct("<BBIqq")  # sync, kind, length, seq, received_ns
_CRC = struct.Struct("<I")
HEAD_SIZE = _HEAD.size
OVERHEAD = _HEAD.size + _CRC.size
# A record larger than this is corruption, not a frame (KIS frames are well under 1 MB).
MAX_RECORD = 256 * 1024 * 1024


class SpoolCorrupt(Exception):
    """A sealed segment that does not parse to its end (disk damage or a foreign file)."""


def new_id(prefix: str) -> str:
    """A unique, time-ordered id such as `seg-20261120T090000.123456-3f9a1c` (UTC)."""
    now = time.time_ns()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 1_000_000_000))
    return f"{prefix}-{stamp}.{now // 1000 % 1_000_000:06d}-{secrets.token_hex(3)}"


def encode_record(kind: int, seq: int, received_ns: int, payload: bytes) -> bytes:
    head = _HEAD.pack(SYNC, kind, len(payload), seq, received_ns)
    crc = zlib.crc32(payload, zlib.crc32(head[1:]))
    return b"".join((head, payload, _CRC.pack(crc)))


def encode_control(seq: int, received_ns: int, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return encode_record(CONTROL, seq, received_ns, payload)


@dataclass
class SegmentRecords:
    """The complete records of one segment file, as parallel lists (cheap to bulk-process)."""

    kinds: list[int] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    received_ns: list[int] = field(default_factory=list)
    payloads: list[bytes] = field(default_factory=list)
    end: int = len(MAGIC)  # offset just past the last complete record
    size: int = 0  # file size; > end means a torn or damaged tail

    @property
    def torn(self) -> bool:
        return self.size > self.end

    def __len__(self) -> int:
        return len(self.kinds)

    def controls(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(position, body) of every control record, in order."""
        for i, kind in enumerate(self.kinds):
            if kind == CONTROL:
                yield i, json.loads(self.payloads[i])

    def header(self) -> dict[str, Any]:
        if not self.kinds or self.kinds[0] != CONTROL:
            return {}
        body = json.loads(self.payloads[0])
        return body if body.get("type") == "segment" else {}


def parse_records(data: bytes) -> SegmentRecords:
    """Every complete, checksummed record of `data`; stops at the first bad or torn one."""
    out = SegmentRecords(size=len(data))
    if not data.startswith(MAGIC):
        out.end = 0
        return out
    pos, size = len(MAGIC), len(data)
    unpack, crc32 = _HEAD.unpack_from, zlib.crc32
    view = memoryview(data)
    kinds, seqs, stamps, payloads = out.kinds, out.seqs, out.received_ns, out.payloads
    while pos + OVERHEAD <= size:
        sync, kind, length, seq, received_ns = unpack(data, pos)
        if sync != SYNC or kind not in KINDS or length > MAX_RECORD:
            break
        start = pos + HEAD_SIZE
        stop = start + length
        if stop + _CRC.size > size:
            break
        (crc,) = _CRC.unpack_from(data, stop)
        if crc32(view[start:stop], crc32(view[pos + 1 : start])) != crc:
            break
        kinds.append(kind)
        seqs.append(seq)
        stamps.append(received_ns)
        payloads.append(data[start:stop])
        pos = stop + _CRC.size
    out.end = pos
    return out


def read_segment(path: Path, *, strict: bool = True) -> SegmentRecords:
    """Read a segment file; `strict` (sealed segments) raises SpoolCorrupt on a bad tail."""
    records = parse_records(path.read_bytes())
    if strict and (records.torn or records.end == 0):
        raise SpoolCorrupt(
            f"segment {path.name} is damaged at byte {records.end} of {records.size}; "
            "move it out of the spool to skip it"
        )
    return records


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SegmentFile:
    """An open segment being appended to (by the writer thread, or by recovery)."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        self.segment_id = path.name.removesuffix(SUFFIX)
        flags = os.O_WRONLY | os.O_APPEND | (os.O_CREAT | os.O_EXCL if create else 0)
        self._fd = os.open(path, flags, 0o644)
        self.bytes = 0
        if create:
            self.write(MAGIC)
        else:
            self.bytes = os.fstat(self._fd).st_size

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.bytes += len(data)

    def sync(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def abandon(self) -> None:
        """Close and delete (a segment that never got any content)."""
        self.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


@dataclass(frozen=True)
class Backlog:
    """Sealed segments waiting for persistence."""

    segments: int
    bytes: int
    oldest_sealed_at: float | None  # epoch seconds; a segment's mtime is its seal time


@dataclass(frozen=True)
class Spool:
    """The spool folders under one warehouse root (see the module docstring)."""

    root: Path

    @classmethod
    def for_warehouse(cls, warehouse_root: Path) -> Spool:
        return cls(Path(warehouse_root) / "spool")

    @property
    def sealed_dir(self) -> Path:
        return self.root / "sealed"

    @property
    def done_dir(self) -> Path:
        return self.root / "done"

    @property
    def sessions_dir(self) -> Path:
        return self.root / "sessions"

    def open_dir(self, key_id: str) -> Path:
        return self.root / "open" / key_id

    def open_lock(self, key_id: str) -> Path:
        return self.root / "open" / f"{key_id}.lock"

    def open_keys(self) -> list[str]:
        base = self.root / "open"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if p.is_dir())

    def heartbeat_path(self, key_id: str) -> Path:
        return self.root / f"heartbeat-{key_id}.json"

    def heartbeats(self) -> list[Path]:
        return sorted(self.root.glob("heartbeat-*.json")) if self.root.is_dir() else []

    def ensure(self, key_id: str | None = None) -> None:
        for folder in (self.sealed_dir, self.done_dir, self.sessions_dir):
            folder.mkdir(parents=True, exist_ok=True)
        if key_id is not None:
            self.open_dir(key_id).mkdir(parents=True, exist_ok=True)

    def sealed_ids(self) -> list[str]:
        """Sealed segments waiting for persistence, oldest id first."""
        return _ids(self.sealed_dir)

    def backlog(self) -> Backlog:
        segments, size, oldest = 0, 0, None
        for path in self.sealed_dir.glob(f"*{SUFFIX}") if self.sealed_dir.is_dir() else ():
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # persisted while we looked
            segments += 1
            size += stat.st_size
            oldest = stat.st_mtime if oldest is None else min(oldest, stat.st_mtime)
        return Backlog(segments, size, oldest)

    def done_ids(self) -> list[str]:
        return _ids(self.done_dir)

    def find(self, segment_id: str) -> Path | None:
        """A sealed or done segment by id (persistence reruns read done ones)."""
        for folder in (self.sealed_dir, self.done_dir):
            path = folder / f"{segment_id}{SUFFIX}"
            if path.is_file():
                return path
        return None

    def seal(self, open_path: Path) -> Path:
        """Move a complete, fsynced open segment into sealed/ (atomic rename, durable)."""
        target = self.sealed_dir / open_path.name
        os.replace(open_path, target)
        fsync_dir(self.sealed_dir)
        fsync_dir(open_path.parent)
        return target

    def mark_done(self, segment_id: str) -> bool:
        """sealed/ -> done/ once persisted; False if another run moved it first."""
        name = f"{segment_id}{SUFFIX}"
        try:
            os.replace(self.sealed_dir / name, self.done_dir / name)
        except FileNotFoundError:
            return False
        fsync_dir(self.done_dir)
        return True

    def purge_done(self, older_than_s: float) -> int:
        """Delete done segments last touched more than `older_than_s` ago."""
        horizon = time.time() - older_than_s
        removed = 0
        if not self.done_dir.is_dir():
            return 0
        for path in self.done_dir.glob(f"*{SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < horizon:
                    path.unlink()
                    removed += 1
        return removed


def _ids(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name.removesuffix(SUFFIX) for p in folder.glob(f"*{SUFFIX}"))
