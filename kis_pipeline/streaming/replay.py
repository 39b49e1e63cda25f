"""What one segment says about stream sessions: replay its header and control records.

Every frame belongs to the session that was open when it arrived. A segment's header names the
session open when the segment began; `session_start` / `session_end` records change it. The
replay counts frames per session, and notes starts, ends and subscription counts. Recovery
uses it to find the session a killed collector left open; persistence uses it to keep the
`stream_sessions` table (session_ledger.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kis_pipeline.streaming.spool import CONTROL, SegmentRecords


@dataclass
class SessionSlice:
    """One session as seen in one segment."""

    session_id: str
    started_ns: int
    subscriptions: int | None = None
    frames: int = 0
    last_ns: int | None = None  # receive time of its last frame in this segment
    ended_ns: int | None = None
    reason: str | None = None
    started_here: bool = False


@dataclass
class Replay:
    header: dict[str, Any]
    sessions: dict[str, SessionSlice] = field(default_factory=dict)
    open_session: SessionSlice | None = None  # still open at the end of the segment
    orphan_frames: int = 0  # frames outside any session (should not happen)
    last_seq: int = 0
    last_ns: int = 0


def replay(records: SegmentRecords, *, fallback: dict[str, Any] | None = None) -> Replay:
    """Replay `records`; `fallback` is the open session to assume if there is no header."""
    header = records.header()
    out = Replay(header=header)
    snapshot = header.get("session") if header else fallback
    current: SessionSlice | None = None
    if snapshot:
        current = _slice(out, snapshot["session_id"], int(snapshot["started_ns"]))
        if snapshot.get("subscriptions") is not None:
            current.subscriptions = int(snapshot["subscriptions"])
    kinds, stamps = records.kinds, records.received_ns
    for i, kind in enumerate(kinds):
        received_ns = stamps[i]
        if kind != CONTROL:
            if current is None:
                out.orphan_frames += 1
            else:
                current.frames += 1
                current.last_ns = received_ns
            continue
        body = json.loads(records.payloads[i])
        event = body.get("type")
        if event == "session_start":
            current = _slice(out, body["session_id"], int(body["started_ns"]))
            current.started_here = True
        elif event == "subscriptions":
            target = out.sessions.get(str(body.get("session_id")))
            if target is not None:
                target.subscriptions = int(body.get("active") or 0)
        elif event == "session_end":
            target = out.sessions.get(str(body.get("session_id")))
            if target is None:
                target = _slice(out, str(body["session_id"]), int(body.get("started_ns") or 0))
            target.ended_ns = int(body["ended_ns"])
            target.reason = str(body.get("reason") or "")
            if current is target:
                current = None
    out.open_session = current
    if records.seqs:
        out.last_seq = max(records.seqs)
        out.last_ns = max(stamps)
    return out


def _slice(out: Replay, session_id: str, started_ns: int) -> SessionSlice:
    found = out.sessions.get(session_id)
    if found is None:
        found = out.sessions[session_id] = SessionSlice(session_id, started_ns)
    return found
