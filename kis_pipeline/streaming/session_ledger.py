"""The `stream_sessions` and `stream_gaps` tables: one row per WebSocket session, and one per
hole in the stream (gaps.py), from the spool's control records.

A session spans many segments, and segments are persisted in any order, possibly twice. So each
segment's contribution to each session (frames it holds, a start, an end with its reason, the
subscription count) is stored under the segment's id in a small per-day state file
`<spool>/sessions/<date>.json` (date = the KST day the session started), and the day's
`stream_sessions` partition is rebuilt from that file. A rerun overwrites the segment's own
contribution, so the rows never double-count; two runs at once serialise on a file lock, and the
second rebuilds from both contributions.

Row: `frames` is the number of messages of the session that reached a sealed segment, `ended_at`
and `reason` are null while the session is open (or its collector died and has not been
recovered yet); `key_label` names the app key that held it (from the segments' headers).

A gap is told in two records, possibly in two segments: `gap` when it closes (its span and the
sessions around it) and `gap_refilled` once its trades were refilled from REST. They meet the
same way, in `<spool>/sessions/gaps-<date>.json` (date = the KST day the gap started), and the
day's `stream_gaps` partition is rebuilt from it. A gap whose refill was begun but never
recorded (the collector died meanwhile) reads `rest_covered = false`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from kis_pipeline.common.clock import KST, KST_NAME
from kis_pipeline.common.files import file_lock, read_or_none, write_private
from kis_pipeline.kis.settings import key_label_of
from kis_pipeline.streaming.replay import Replay
from kis_pipeline.streaming.spool import Spool
from kis_pipeline.warehouse import TABLES, Batch, Warehouse

TABLE = "stream_sessions"
GAPS_TABLE = "stream_gaps"
GAP_EVENTS = ("gap", "gap_refilled")


def kst_date(ns: int) -> dt.date:
    return dt.datetime.fromtimestamp(ns / 1e9, KST).date()


def record_segment(
    warehouse: Warehouse,
    spool: Spool,
    segment_id: str,
    replayed: Replay,
    gap_events: list[dict[str, Any]] | None = None,
) -> tuple[list[str], list[str]]:
    """Store `segment_id`'s contribution to its sessions and gaps and rewrite their days'
    partitions; returns the session ids and gap ids it touched."""
    return record_segments(warehouse, spool, [(segment_id, replayed, gap_events or [])])[segment_id]


def record_segments(
    warehouse: Warehouse,
    spool: Spool,
    segments: Sequence[tuple[str, Replay, list[dict[str, Any]]]],
) -> dict[str, tuple[list[str], list[str]]]:
    """`record_segment` for several segments, all their days rewritten in one lake transaction;
    per segment, the session ids and gap ids it touched."""
    touched: dict[str, tuple[list[str], list[str]]] = {seg: ([], []) for seg, _, _ in segments}
    by_day: dict[dt.date, list[tuple[str, Any, str | None]]] = {}
    gaps_by_day: dict[dt.date, list[tuple[str, dict[str, Any]]]] = {}
    for segment_id, replayed, gap_events in segments:
        # Every segment of a collector is written by one app key's session, named in its header.
        key_id = replayed.header.get("key_id")
        for slice_ in replayed.sessions.values():
            started = slice_.started_ns or slice_.ended_ns or replayed.last_ns
            by_day.setdefault(kst_date(started), []).append((segment_id, slice_, key_id))
        for event in gap_events:
            gaps_by_day.setdefault(kst_date(int(event["started_ns"])), []).append(
                (segment_id, event)
            )
    if not by_day and not gaps_by_day:
        return touched
    folder = spool.sessions_dir
    folder.mkdir(parents=True, exist_ok=True)
    batch = Batch()
    with file_lock(folder / ".lock"):
        gap_frames = {}
        for day, events in sorted(gaps_by_day.items()):
            path = folder / f"gaps-{day.isoformat()}.json"
            state = _load(path)
            mine: dict[tuple[str, str], dict[str, Any]] = {}
            for segment_id, event in events:
                mine.setdefault((event["gap_id"], segment_id), {})[event["type"]] = event
            for (gap_id, segment_id), parts in mine.items():
                state.setdefault(gap_id, {})[segment_id] = parts
                touched[segment_id][1].append(gap_id)
            write_private(path, json.dumps(state, separators=(",", ":")).encode())
            gap_frames[day.isoformat()] = gap_rows(day, state)
        session_frames = {}
        for day, slices in sorted(by_day.items()):
            path = folder / f"{day.isoformat()}.json"
            state = _load(path)
            for segment_id, s, key_id in slices:
                entry = state.setdefault(s.session_id, {"started_ns": s.started_ns, "segments": {}})
                if s.started_ns and (not entry["started_ns"] or s.started_ns < entry["started_ns"]):
                    entry["started_ns"] = s.started_ns
                entry["segments"][segment_id] = {
                    "key_id": key_id,
                    "frames": s.frames,
                    "subscriptions": s.subscriptions,
                    "ended_ns": s.ended_ns,
                    "reason": s.reason,
                }
                touched[segment_id][0].append(s.session_id)
            write_private(path, json.dumps(state, separators=(",", ":")).encode())
            session_frames[day.isoformat()] = rows(day, state)
        if gap_frames:
            batch.add(GAPS_TABLE, gap_frames)
        if session_frames:
            batch.add(TABLE, session_frames)
        warehouse.commit(batch)
    return touched


def gap_rows(day: dt.date, state: dict[str, Any]) -> pl.DataFrame:
    """The day's stream_gaps rows from its state file (gap id -> segment -> its records)."""
    schema = TABLES[GAPS_TABLE].schema
    out: list[dict[str, Any]] = []
    for gap_id, by_segment in sorted(state.items()):
        parts: dict[str, dict[str, Any]] = {}
        for segment_parts in by_segment.values():
            parts.update(segment_parts)
        gap = parts.get("gap")
        if gap is None:
            continue  # the refill was persisted first; its gap follows with its segment
        refill = parts.get("gap_refilled")
        row = {
            "date": day,
            "gap_id": gap_id,
            "started_at": _kst(gap["started_ns"]),
            "ended_at": _kst(gap.get("ended_ns")),
            "reason": gap.get("reason"),
            "session_before": gap.get("session_before"),
            "session_after": gap.get("session_after"),
            "symbols": 0,
            "rest_rows": 0,
            "rest_covered": False if gap.get("refill") else None,
            "rest_uncovered": None,
            "note": gap.get("note"),
        }
        if refill is not None:
            row.update(
                symbols=refill.get("symbols") or 0,
                rest_rows=refill.get("rest_rows") or 0,
                rest_covered=bool(refill.get("rest_covered")),
                rest_uncovered=",".join(refill.get("rest_uncovered") or []) or None,
                note=refill.get("note") or gap.get("note"),
            )
        elif gap.get("refill"):
            row["note"] = "the refill from REST was not recorded (the collector died first)"
        out.append(row)
    return pl.DataFrame(out, schema=schema)


def _kst(ns: int | None) -> dt.datetime | None:
    return None if ns is None else dt.datetime.fromtimestamp(ns / 1e9, KST)


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
        "key_label": [],
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
        keys = sorted({p["key_id"] for p in parts if p.get("key_id")})
        out["key_label"].append(key_label_of(keys[0]) if keys else None)
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
            "key_label": pl.String,
        },
    )
    frame = frame.with_columns(
        pl.col(c).dt.replace_time_zone("UTC").dt.convert_time_zone(KST_NAME)
        for c in ("started_at", "ended_at")
    )
    return frame.select(list(schema))


def _load(path: Path) -> dict[str, Any]:
    raw = read_or_none(path)
    if not raw:
        return {}
    data = json.loads(raw)
    return data if isinstance(data, dict) else {}
