"""The tick collector's own record: its sessions, the holes between them, and what it received
but could not parse.

`stream_rejects` keeps every frame or record that could not be parsed or holds an impossible
value, raw, with the reason: nothing the collector spooled is dropped silently. `stream_gaps` has
one row per hole in the stream (`streaming.gaps`).
"""

from __future__ import annotations

import polars as pl

from kis_pipeline.warehouse.tables.spec import TableSpec, register_table
from kis_pipeline.warehouse.tables.ticks import TS

_I = pl.Int64
_S = pl.String

STREAM_SESSIONS = register_table(
    TableSpec(
        "stream_sessions",
        pl.Schema(
            {
                "date": pl.Date,
                "session_id": _S,
                "started_at": TS,
                "ended_at": TS,
                "reason": _S,
                "frames": _I,
                "subscriptions": _I,
                # The app key that held the session, by its short non-secret name
                # (`KisSettings.key_label`); null for sessions spooled before it was recorded.
                "key_label": _S,
            }
        ),
        "date",
        "date",
        ("session_id",),
        ("started_at",),
        "One row per WebSocket session of the tick collector: when it ran, why it ended and "
        "which app key served it.",
    )
)

STREAM_REJECTS = register_table(
    TableSpec(
        "stream_rejects",
        pl.Schema(
            {
                "date": pl.Date,
                "received_at": TS,
                "segment_id": _S,
                "seq": _I,
                "record": pl.Int32,  # null: the whole frame
                "tr_id": _S,
                "reason": _S,
                "raw": _S,
            }
        ),
        "date",
        "date",
        ("segment_id", "seq", "record"),
        ("received_at", "seq"),
        "Frames (or records of frames) the collector received but persistence could not parse, "
        "raw.",
    )
)

STREAM_GAPS = register_table(
    TableSpec(
        "stream_gaps",
        pl.Schema(
            {
                "date": pl.Date,  # the KST day the gap started
                "gap_id": _S,
                "started_at": TS,  # receive time of the last frame before it
                # When the next session had its subscriptions back; or when the collector
                # stopped (`session_after` null).
                "ended_at": TS,
                "reason": _S,  # why the session before it ended
                "session_before": _S,
                "session_after": _S,
                "symbols": _I,  # symbols whose trades a refill from REST was tried for (0: none)
                "rest_rows": _I,  # trade_ticks rows it added, with source 'rest'
                # Every symbol's missing trades refilled; null when no refill was tried.
                "rest_covered": pl.Boolean,
                "rest_uncovered": _S,  # comma-separated symbols the 30 executions did not cover
                "note": _S,
            }
        ),
        "date",
        "date",
        ("gap_id",),
        ("started_at",),
        "One row per hole in the tick stream (a dropped or silent connection, a collector killed "
        "and restarted): when it started and ended, and how much of its trades REST refilled.",
    )
)
