"""What a tick collector is configured with, what it counts, and the summary it ends with."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kis_pipeline.streaming.subscriptions import FeedPlan
from kis_pipeline.streaming.writer import WriterConfig, WriterStats

MiB = 1024 * 1024

# (stale approval key or None) -> approval key; blocking (REST), run in a worker thread.
ApprovalSource = Callable[[str | None], str]


@dataclass(frozen=True)
class CollectorConfig:
    ws_url: str
    plan: FeedPlan
    custtype: str = "P"
    writer: WriterConfig = field(default_factory=WriterConfig)
    # KIS's samples pace registrations 0.05 s apart on real, 0.5 s on mock (SPEC §15.8).
    subscribe_gap_s: float = 0.05
    ack_timeout_s: float = 10.0
    # "No frame of any kind for a few minutes": KIS sends PINGPONG every minute or two.
    silence_timeout_s: float = 180.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    # A session that carried data this long resets the backoff.
    stable_after_s: float = 30.0
    connect_timeout_s: float = 10.0
    # Graceful stop: release every registration (waiting for the acks) before closing. An
    # overloaded server answers behind its backlog of frames (the simulator drops a client more
    # than 10 s behind), so allow for that.
    drain_timeout_s: float = 30.0
    # OPSP8996 after a reconnect: our own previous session may still be closing on the server.
    in_use_retries: int = 3
    # Also retry OPSP8996 on the first connection: set when this key's previous collector died
    # (recovery found its open segments), since KIS may not have noticed yet.
    previous_session_may_linger: bool = False
    max_message_bytes: int = 16 * MiB
    # After a hole, how long to wait for a symbol's first trade before refilling it (gaps.py).
    refill_wait_s: float = 2.0
    # The market the feeds stream (KIS_VENUE): what refilled trades are marked with.
    venue: str = "KRX"


@dataclass
class CollectorStats:
    sessions: int = 0
    connect_failures: int = 0
    frames: int = 0  # messages spooled (data frames and raw oddities)
    bytes: int = 0
    pings: int = 0
    raw_kept: int = 0  # messages that were neither data frames nor JSON we understand
    undecrypted: int = 0
    backpressure_waits: int = 0
    last_frame_ns: int = 0
    subscriptions: int = 0
    stable_sessions: int = 0
    subscribed_sessions: int = 0  # sessions that held at least one registration


@dataclass
class CollectorSummary:
    collector_id: str
    stop_reason: str
    sessions: int
    frames: int
    records: int
    segments: int
    bytes: int
    pings: int
    problems: list[str]
    records_by_tr: dict[str, int]
    queue_peak_bytes: int
    backpressure_waits: int
    raw_kept: int
    elapsed_s: float
    gaps: list[dict[str, Any]] = field(default_factory=list)  # gap / gap_refilled records

    @classmethod
    def of(
        cls,
        collector_id: str,
        stop_reason: str,
        stats: CollectorStats,
        written: WriterStats,
        *,
        problems: list[str],
        elapsed_s: float,
        gaps: list[dict[str, Any]],
    ) -> CollectorSummary:
        """The summary from the collector's own counts and its spool writer's."""
        return cls(
            collector_id=collector_id,
            stop_reason=stop_reason,
            sessions=stats.sessions,
            frames=written.frames,
            records=written.records,
            segments=written.segments,
            bytes=written.bytes,
            pings=stats.pings,
            problems=problems,
            records_by_tr=dict(written.records_by_tr or {}),
            queue_peak_bytes=written.queue_peak_bytes,
            backpressure_waits=stats.backpressure_waits,
            raw_kept=stats.raw_kept,
            elapsed_s=elapsed_s,
            gaps=gaps,
        )

    @classmethod
    def combined(cls, summaries: Sequence[CollectorSummary]) -> CollectorSummary:
        """One summary of the collectors that ran side by side, one per app key."""
        if len(summaries) == 1:
            return summaries[0]
        by_tr: Counter[str] = Counter()
        for each in summaries:
            by_tr.update(each.records_by_tr)
        first = summaries[0]
        return cls(
            collector_id=",".join(s.collector_id for s in summaries),
            # The first key's reason: they all stop together, for the same reason.
            stop_reason=first.stop_reason,
            sessions=sum(s.sessions for s in summaries),
            frames=sum(s.frames for s in summaries),
            records=sum(s.records for s in summaries),
            segments=sum(s.segments for s in summaries),
            bytes=sum(s.bytes for s in summaries),
            pings=sum(s.pings for s in summaries),
            problems=[p for s in summaries for p in s.problems],
            records_by_tr=dict(by_tr),
            queue_peak_bytes=max(s.queue_peak_bytes for s in summaries),
            backpressure_waits=sum(s.backpressure_waits for s in summaries),
            raw_kept=sum(s.raw_kept for s in summaries),
            elapsed_s=max(s.elapsed_s for s in summaries),
            gaps=[g for s in summaries for g in s.gaps],
        )
