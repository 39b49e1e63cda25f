"""Crash recovery: seal what a dead collector left in `open/<key_id>/`.

A collector killed with -9 leaves one or two open segments (two if it died while sealing, since
the next segment is created before the previous one is renamed). For each, oldest first:
- keep every complete record and truncate a torn tail (a record half written when it died);
- on the newest one only, end the session that was still open, with the time of its last frame
  (or of the last heartbeat, if later) and reason `collector_lost`, so stream_sessions shows the
  hole; the older one's open session is the same session, continued in the newer one;
- append a `seal` trailer marked `recovered`, fsync, rename into sealed/;
- delete a segment that holds nothing but its header.

Recovery needs the key's spool lock (locks.py): the next collector of the key holds it already;
the Dagster sensor takes it with `recover_if_idle`, which does nothing while a collector runs.
Running it twice is harmless: the second run finds open/ empty.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

from kis_pipeline.streaming import heartbeat
from kis_pipeline.streaming.locks import FileLock
from kis_pipeline.streaming.replay import replay
from kis_pipeline.streaming.spool import (
    CONTROL,
    SUFFIX,
    SegmentFile,
    Spool,
    encode_control,
    fsync_dir,
    parse_records,
)

log = logging.getLogger(__name__)

LOST_REASON = "collector_lost: the collector died without ending its session (killed or crashed)"


@dataclass
class RecoveryResult:
    sealed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    trimmed_bytes: int = 0
    sessions_ended: list[str] = field(default_factory=list)


def recover(spool: Spool, key_id: str) -> RecoveryResult:
    """Seal the open segments of `key_id`; the caller holds the key's spool lock."""
    result = RecoveryResult()
    folder = spool.open_dir(key_id)
    if not folder.is_dir():
        return result
    paths = list(folder.glob(f"*{SUFFIX}"))
    if not paths:
        return result
    spool.ensure(key_id)
    parsed = []
    for path in paths:
        records = parse_records(path.read_bytes())
        created = int(records.header().get("created_ns") or 0)
        parsed.append((created, int(records.header().get("index") or 0), path.name, path, records))
    parsed.sort(key=lambda item: item[:3])
    beat = heartbeat.read_heartbeat(spool.heartbeat_path(key_id))
    for position, (_, _, _, path, records) in enumerate(parsed):
        newest = position == len(parsed) - 1
        segment_id = path.name.removesuffix(SUFFIX)
        if records.end == 0:  # not even the magic made it to disk
            path.unlink()
            result.deleted.append(segment_id)
            continue
        if records.torn:
            result.trimmed_bytes += records.size - records.end
            os.truncate(path, records.end)
        fallback = (beat or {}).get("session") if newest and not records.header() else None
        state = replay(records, fallback=fallback)
        appended: list[bytes] = []
        seq = state.last_seq
        if newest and state.open_session is not None:
            session = state.open_session
            ended = max(
                session.last_ns or 0,
                state.last_ns,
                _beat_time(beat, session.session_id),
                session.started_ns,
            )
            seq += 1
            appended.append(
                encode_control(
                    seq,
                    ended,
                    {
                        "type": "session_end",
                        "session_id": session.session_id,
                        "started_ns": session.started_ns,
                        "ended_ns": ended,
                        "reason": LOST_REASON,
                        "recovered": True,
                    },
                )
            )
            result.sessions_ended.append(session.session_id)
        has_content = len(records) > 1 or appended or (len(records) == 1 and not records.header())
        if not has_content:
            path.unlink()
            result.deleted.append(segment_id)
            continue
        frames = sum(1 for kind in records.kinds if kind != CONTROL)
        now = time.time_ns()
        appended.append(
            encode_control(
                seq,
                now,
                {
                    "type": "seal",
                    "segment_id": segment_id,
                    "frames": frames,
                    "sealed_ns": now,
                    "recovered": True,
                },
            )
        )
        segment = SegmentFile(path, create=False)
        try:
            segment.write(b"".join(appended))
            segment.sync()
        finally:
            segment.close()
        spool.seal(path)
        result.sealed.append(segment_id)
    fsync_dir(folder)
    if result.sealed or result.deleted:
        log.warning(
            "recovered the spool of a stopped collector: sealed %s, deleted %d empty, "
            "trimmed %d torn bytes, ended sessions %s",
            result.sealed,
            len(result.deleted),
            result.trimmed_bytes,
            result.sessions_ended,
        )
    return result


def recover_if_idle(spool: Spool, key_id: str) -> RecoveryResult | None:
    """Recover `key_id`'s open segments unless a collector (or recovery) holds them."""
    lock = FileLock(spool.open_lock(key_id))
    if not lock.try_acquire():
        return None
    try:
        return recover(spool, key_id)
    finally:
        lock.release()


def recover_all_idle(spool: Spool) -> dict[str, RecoveryResult]:
    """Recover every app key's open segments whose collector is gone."""
    results = {}
    for key_id in spool.open_keys():
        if not any(spool.open_dir(key_id).glob(f"*{SUFFIX}")):
            continue
        result = recover_if_idle(spool, key_id)
        if result is not None:
            results[key_id] = result
    return results


def _beat_time(beat: dict[str, Any] | None, session_id: str) -> int:
    if not beat:
        return 0
    session = beat.get("session") or {}
    if session.get("session_id") != session_id:
        return 0
    return int(beat.get("loop_ns") or beat.get("updated_ns") or 0)
