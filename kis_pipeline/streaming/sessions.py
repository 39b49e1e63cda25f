"""The `stream_sessions` table: one row per WebSocket session, from the spool's control records.

A session spans many segments, and segments are persisted in any order, possibly twice. So each
segment's contribution to each session (frames it holds, a start, an end with its reason, the
subscription count) is stored under the segment's id in a small per-day state file
`<spool>/sessions/<date>.json` (date = the KST day the session started), and the day's
`stream_sessions` partition is rebuilt from that file. A rerun overwrites the segment's own
contribution, so the rows never double-count; two runs at once serialise on a file lock, and the
second rebuilds from both contributions.

Row: `frames` is the number of messages of the session that reached a sealed segment, `ended_at`
and `reason` are null while the session is open (or its collector died and has not been
recovered yet). The holes in the data are the spans between one session's `ended_at` and the
next one's `started_at`.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from kis_pipeline.kis.state import file_lock, read_or_none, write_private
from kis_pipeline.streaming.replay import Replay
from kis_pipeline.streaming.spool import Spool
from kis_pipeline.warehouse import TABLES, Warehouse

TABLE = "stream_sessions"
KST = zoneinfo.ZoneInfo("Asia/Seoul")


def kst_date(ns: int) -> dt.date:
    return dt.datetime.fromtimestamp(ns / 1e9, KST).date()


def record_segment(
    warehouse: Warehouse, spool: Spool, segment_id: str, replayed: Replay
) -> list[str]:
    """Store `segment_id`'s contribution to its sessions and rewrite their days' partitions."""
    return record_segments(warehouse, spool, [(segment_id, replayed)])[segment_id]


def record_segments(
    warehouse: Warehouse, spool: Spool, segments: Sequence[tuple[str, Replay]]
) -> dict[str, list[str]]:
    """`record_segment` for several segments, their days rewritten in one lake transaction;
    the sessions each segment touched."""
    touched: dict[str, list[str]] = {segment_id: [] for segment_id, _ in segments}
    by_day: dict[dt.date, list[tuple[str, Any]]] = {}
    for segment_id, replayed in segments:
        for slice_ in replayed.sessions.values():
            started = slice_.started_ns or slice_.ended_ns or replayed.last_ns
            by_day.setdefault(kst_date(started), []).append((segment_id, slice_))
    if not by_day:
        return touched
    folder = spool.sessions_dir
    folder.mkdir(parents=True, exist_ok=True)
    with file_lock(folder / ".lock"):
        frames = {}
        for day, slices in sorted(by_day.items()):
            path = folder / f"{day.isoformat()}.json"
            state = _load(path)
            for segment_id, s in slices:
                entry = state.setdefault(s.session_id, {"started_ns": s.started_ns, "segments": {}})
                if s.started_ns and (not entry["started_ns"] or s.started_ns < entry["started_ns"]):
                    entry["started_ns"] = s.started_ns
                entry["segments"][segment_id] = {
                    "frames": s.frames,
                    "subscriptions": s.subscriptions,
                    "ended_ns": s.ended_ns,
                    "reason": s.reason,
                }
                touched[segment_id].append(s.session_id)
            write_private(path, json.dumps(state, separators=(",", ":")).encode())
            frames[day.isoformat()] = rows(day, state)
        warehouse.write_partitions(TABLE, frames)
    return touched


def rows(day: dt.date, state: dict[str, Any]) -> pl.DataFrame:
    """The day's stream_sessions rows from its state file."""
    out: dict[str, list[Any]] = {
        "date": [],
        "session_id": [],
        "started_at": [],
        "ended_at": [],
        "reason": [],
        "frames": [],
        "subscriptions": [],
    }
    for session_id, entry in sorted(state.items()):
        parts = entry["segments"].values()
        ends = sorted(
            (p["ended_ns"], p["reason"] or "") for p in parts if p.get("ended_ns") is not None
        )
        subs = [p["subscriptions"] for p in parts if p.get("subscriptions") is not None]
        out["date"].append(day)
        out["session_id"].append(session_id)
        out["started_at"].append(entry["started_ns"] // 1000)
        out["ended_at"].append(ends[0][0] // 1000 if ends else None)
        out["reason"].append(ends[0][1] if ends else None)
        out["frames"].append(sum(int(p.get("frames") or 0) for p in parts))
        out["subscriptions"].append(max(subs) if subs else 0)
    schema = TABLES[TABLE].schema
    micro = pl.Datetime("us")
    frame = pl.DataFrame(
        out,
        schema={
            "date": pl.Date,
            "session_id": pl.String,
            "started_at": micro,
            "ended_at": micro,
            "reason": pl.String,
            "frames": pl.Int64,
            "subscriptions": pl.Int64,
        },
    )
    frame = frame.with_columns(
        pl.col(c).dt.replace_time_zone("UTC").dt.convert_time_zone("Asia/Seoul")
        for c in ("started_at", "ended_at")
    )
    return frame.select(list(schema))


def _load(path: Path) -> dict[str, Any]:
    raw = read_or_none(path)
    if not raw:
        return {}
    data = json.loads(raw)
    return data if isinstance(data, dict) else {}
