"""Sealed spool segments -> warehouse: one Dagster run per batch of segments.

`tick_segments_sensor` is evaluated every `KIS_TICK_PERSIST_INTERVAL` seconds (default 60). It
takes every sealed segment not yet handed to a run, oldest first and at most
MAX_SEGMENTS_PER_RUN, and requests ONE run of `tick_segment_job` whose config lists them and
whose run key names their range, `<first id>..<last id>`. With 5-second segments a 6.5-hour
session makes about 390 runs instead of 4,700. A new batch is requested only while no
tick_segment_job run is queued or running: when persistence is slower than the collector the
next batch is bigger, and Dagster's run queue does not grow.

Exactly once: the run writes each segment as its own pieces, `part=<segment id>`, which a rerun
replaces (streaming/promote.py), and a segment leaves sealed/ only once its rows are in the
catalog. A batch whose run failed, was canceled or never appeared is requested again with its
segments still in sealed/, under `<range>:retry<n>` (up to MAX_RETRIES); a segment that keeps
failing stays in sealed/ for a person to look at, and the backlog alert says so.

Backlog: each evaluation counts the sealed segments waiting. Past `KIS_TICK_BACKLOG_ALERT`
segments (default 120, ten minutes of 5-second segments) it logs a warning and posts to
`KIS_ALERT_WEBHOOK` (defs/alerts/notify.py), again every ALERT_REPEAT_S while the backlog lasts.

The sensor also recovers the open segments of a collector that died (streaming/recovery.py):
only when nothing holds that app key's spool lock, i.e. no collector is running for it.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import dagster as dg

import kis_pipeline.streaming.tables as tick_tables
from kis_pipeline.defs.alerts.notify import TickBacklog, notify
from kis_pipeline.defs.resources import WarehouseResource
from kis_pipeline.lib.metadata import snapshot_metadata
from kis_pipeline.lib.run_context import env_number
from kis_pipeline.streaming.promote import promote_batch
from kis_pipeline.streaming.recovery import recover_all_idle
from kis_pipeline.streaming.spool import Spool

INTERVAL_ENV = "KIS_TICK_PERSIST_INTERVAL"
BACKLOG_ENV = "KIS_TICK_BACKLOG_ALERT"
PERSIST_INTERVAL_S = int(env_number(INTERVAL_ENV, 60, minimum=1))
DEFAULT_BACKLOG_ALERT = 120
# 30 minutes of 5-second segments: after an outage the backlog drains in a few runs.
MAX_SEGMENTS_PER_RUN = 360
MAX_RETRIES = 3
# A batch still sealed after this long (times its retries + 1) has its run looked up.
CHECK_AFTER_S = 60.0
ALERT_REPEAT_S = 1800.0
BATCH_TAG = "kis/segments"
COUNT_TAG = "kis/segment_count"
_IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]

TICK_ASSETS = [
    dg.AssetSpec(
        name,
        group_name="ticks",
        description=description,
        kinds={"parquet"},
    )
    for name, description in (
        *((t.name, t.spec.description) for t in tick_tables.TICK_TABLES),
        ("stream_rejects", tick_tables.STREAM_REJECTS.description),
        ("stream_gaps", tick_tables.STREAM_GAPS.description),
        ("stream_sessions", "One row per WebSocket session of the tick collector."),
    )
]


# Declared as a schema rather than a `dg.Config` class, which postponed annotations would hide.
BATCH_CONFIG = {
    "segment_ids": dg.Field([str], description="The sealed segments to persist, oldest first.")
}


@dg.op(
    config_schema=BATCH_CONFIG,
    description="Parse a batch of sealed spool segments and write their pieces of the tick tables.",
)
def persist_tick_segments(context, warehouse: WarehouseResource) -> None:
    segment_ids = [str(s) for s in context.op_config["segment_ids"]]
    wh = warehouse.warehouse()
    batch = promote_batch(wh, Spool.for_warehouse(wh.root), segment_ids)
    context.log.info(batch.summary())
    written: Counter[str] = Counter()
    partitions: dict[str, set[str]] = {}
    for result in batch.results:
        written.update(result.rows)
        written["stream_rejects"] += result.rejects
        written["stream_sessions"] += len(set(result.sessions))
        written["stream_gaps"] += len(set(result.gaps))
        for item in result.partitions:
            table, partition = item.split("/", 1)
            partitions.setdefault(table, set()).add(partition)
    span = batch_key([r.segment_id for r in batch.results]) if batch.results else ""
    # The tick tables' rows are in the batch's snapshot; session rows are written after it.
    ticks_snapshot = max((r.snapshot or 0 for r in batch.results), default=0) or None
    newest = wh.snapshot() if batch.results else None
    for table, rows in sorted(written.items()):
        if rows:
            context.log_event(
                dg.AssetMaterialization(
                    asset_key=table,
                    description=f"segments {span}",
                    metadata={
                        "segments": dg.MetadataValue.int(len(batch.results)),
                        "rows": dg.MetadataValue.int(rows),
                        "partitions": sorted(partitions.get(table, ())),
                        **snapshot_metadata(
                            newest if table == "stream_sessions" else ticks_snapshot
                        ),
                    },
                )
            )
    if written["stream_rejects"]:
        context.log.warning(
            f"{written['stream_rejects']} frame(s)/record(s) could not be parsed; they are kept "
            "raw in stream_rejects"
        )
    if batch.failures:
        segment_id, error = next(iter(batch.failures.items()))
        raise dg.Failure(
            description=(
                f"{len(batch.failures)} of {len(segment_ids)} segment(s) could not be persisted "
                f"(first: {segment_id}: {error}); they stay in sealed/ and "
                "tick_segments_sensor retries them"
            ),
            metadata={"failed": dg.MetadataValue.json(batch.failures)},
        )


@dg.job(
    description="Persist a batch of sealed tick segments (started by tick_segments_sensor).",
    # Ahead of queued backfill runs: the spool waits behind them, and the collector does not.
    tags={"kis/domain": "ticks", "dagster/priority": "10"},
    # One op: a step process of its own would only double the start-up cost of every run.
    executor_def=dg.in_process_executor,
)
def tick_segment_job() -> None:
    persist_tick_segments()


def batch_key(segment_ids: list[str]) -> str:
    """The run key of a batch: the range of its segment ids, which sort by creation time."""
    return f"{segment_ids[0]}..{segment_ids[-1]}"


def run_config(segment_ids: list[str]) -> dict[str, Any]:
    return {"ops": {"persist_tick_segments": {"config": {"segment_ids": segment_ids}}}}


@dg.sensor(
    job=tick_segment_job,
    minimum_interval_seconds=PERSIST_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "One tick_segment_job run per interval for every sealed segment waiting "
        "(run key = the segment range); alerts when the spool backlog grows."
    ),
)
def tick_segments_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource
) -> dg.SensorResult:
    wh = warehouse.warehouse()
    spool = Spool.for_warehouse(wh.root)
    for key_id, result in recover_all_idle(spool).items():
        if result.sealed:
            context.log.warning(
                f"recovered {len(result.sealed)} open segment(s) of a stopped collector "
                f"({key_id}); sessions ended: {result.sessions_ended}"
            )
    sealed = spool.sealed_ids()
    waiting = set(sealed)
    state = _load_cursor(context.cursor)
    now = _clock()
    batches: dict[str, dict[str, Any]] = {}
    for key, batch in state.get("batches", {}).items():
        left = [s for s in batch["segments"] if s in waiting]
        if left:
            batches[key] = {**batch, "segments": left}
    requests = [r for key, b in batches.items() if (r := _retry(context, key, b, now))]
    claimed = {s for batch in batches.values() for s in batch["segments"]}
    fresh = [s for s in sealed if s not in claimed][:MAX_SEGMENTS_PER_RUN]
    in_flight = context.instance.get_runs_count(
        dg.RunsFilter(job_name=tick_segment_job.name, statuses=_IN_PROGRESS)
    )
    if fresh and not in_flight and not requests:
        key = batch_key(fresh)
        batches[key] = {"segments": fresh, "at": now, "retries": 0}
        requests.append(_request(key, key, fresh))
    alerted_at = _watch_backlog(context, spool, state.get("alerted_at"), now)
    cursor = json.dumps({"batches": batches, "alerted_at": alerted_at}, separators=(",", ":"))
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=cursor)
    reason = (
        f"{len(sealed)} sealed segment(s) wait for the tick_segment_job run in progress"
        if fresh
        else f"no new sealed segments ({len(sealed)} waiting)"
    )
    return dg.SensorResult(skip_reason=dg.SkipReason(reason), cursor=cursor)


def _clock() -> float:
    return time.time()


def _retry(
    context: dg.SensorEvaluationContext, key: str, batch: dict[str, Any], now: float
) -> dg.RunRequest | None:
    """A new request for `batch` if its last run ended (or never started) with it unpersisted."""
    retries = int(batch["retries"])
    if retries >= MAX_RETRIES or now - float(batch["at"]) < CHECK_AFTER_S * (retries + 1):
        return None
    runs = context.instance.get_runs(filters=dg.RunsFilter(tags={BATCH_TAG: key}), limit=1)
    if runs and runs[0].status in _IN_PROGRESS:
        return None
    batch["retries"] = retries + 1
    return _request(key, f"{key}:retry{retries + 1}", batch["segments"])


def _request(key: str, run_key: str, segment_ids: list[str]) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=run_key,
        run_config=run_config(segment_ids),
        tags={BATCH_TAG: key, COUNT_TAG: str(len(segment_ids))},
    )


def _watch_backlog(
    context: dg.SensorEvaluationContext, spool: Spool, alerted_at: float | None, now: float
) -> float | None:
    """Alert when the backlog passes the threshold; returns when it last alerted."""
    threshold = int(env_number(BACKLOG_ENV, DEFAULT_BACKLOG_ALERT, minimum=1))
    backlog = spool.backlog()
    if backlog.segments <= threshold:
        if alerted_at is not None:
            context.log.info(f"tick backlog back to {backlog.segments} sealed segment(s)")
        return None
    if alerted_at is not None and now - alerted_at < ALERT_REPEAT_S:
        return alerted_at
    alert = TickBacklog(
        segments=backlog.segments,
        bytes=backlog.bytes,
        oldest_age_s=round(now - (backlog.oldest_sealed_at or now), 1),
        threshold=threshold,
    )
    context.log.warning(alert.line())
    notify(alert)
    return now


def _load_cursor(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
