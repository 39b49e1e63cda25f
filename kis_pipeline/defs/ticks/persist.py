"""Sealed spool segment -> warehouse: one Dagster run per segment (run_key = segment id).

`tick_segments_sensor` looks at `<spool>/sealed/` every few seconds and requests a run of
`tick_segment_job` for each segment, with the segment id as run key, so Dagster never launches
two runs for one segment. The run parses the segment in bulk and writes its pieces of the tick
tables (streaming/promote.py), which a rerun replaces: a run that failed or was killed is
requested again under `<segment id>:retry<n>` (up to MAX_RETRIES), and a segment that keeps
failing stays in sealed/ for a person to look at.

The sensor also recovers the open segments of a collector that died (streaming/recovery.py):
only when nothing holds that app key's spool lock, i.e. no collector is running for it.
"""

from __future__ import annotations

import json
import time
from typing import Any

import dagster as dg

import kis_pipeline.streaming.tables as tick_tables
from kis_pipeline.defs.resources import WarehouseResource
from kis_pipeline.streaming.promote import promote_segment
from kis_pipeline.streaming.recovery import recover_all_idle
from kis_pipeline.streaming.spool import Spool

SEGMENT_TAG = "kis/segment"
MAX_RUNS_PER_TICK = 20
MAX_RETRIES = 3
# A requested segment still sealed after this long has its run looked up.
CHECK_AFTER_S = 60.0
_FINISHED_BADLY = (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)

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
        ("stream_sessions", "One row per WebSocket session of the tick collector."),
    )
]


# Declared as a schema rather than a `dg.Config` class, which postponed annotations would hide.
SEGMENT_CONFIG = {"segment_id": dg.Field(str, description="The sealed segment to persist.")}


@dg.op(
    config_schema=SEGMENT_CONFIG,
    description="Parse one sealed spool segment and write its pieces of the tick tables.",
)
def persist_tick_segment(context, warehouse: WarehouseResource) -> None:
    segment_id = str(context.op_config["segment_id"])
    wh = warehouse.warehouse()
    spool = Spool.for_warehouse(wh.root)
    result = promote_segment(wh, spool, segment_id)
    context.log.info(result.summary())
    written = dict(result.rows)
    if result.rejects:
        written["stream_rejects"] = result.rejects
    if result.sessions:
        written["stream_sessions"] = len(set(result.sessions))
    for table, rows in sorted(written.items()):
        context.log_event(
            dg.AssetMaterialization(
                asset_key=table,
                description=f"segment {segment_id}",
                metadata={
                    "segment_id": segment_id,
                    "rows": dg.MetadataValue.int(rows),
                    "partitions": [
                        p.split("/", 1)[1] for p in result.partitions if p.startswith(f"{table}/")
                    ],
                },
            )
        )
    if result.rejects:
        context.log.warning(
            f"{result.rejects} frame(s)/record(s) of {segment_id} could not be parsed; "
            "they are kept raw in stream_rejects"
        )


@dg.job(
    description="Persist one sealed tick segment (started by tick_segments_sensor).",
    tags={"kis/domain": "ticks"},
)
def tick_segment_job() -> None:
    persist_tick_segment()


def _run_config(segment_id: str) -> dict[str, Any]:
    return {"ops": {"persist_tick_segment": {"config": {"segment_id": segment_id}}}}


@dg.sensor(
    job=tick_segment_job,
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="One tick_segment_job run per sealed spool segment (run_key = segment id).",
)
def tick_segments_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource
) -> dg.SensorResult | dg.SkipReason:
    wh = warehouse.warehouse()
    spool = Spool.for_warehouse(wh.root)
    recovered = recover_all_idle(spool)
    for key_id, result in recovered.items():
        if result.sealed:
            context.log.warning(
                f"recovered {len(result.sealed)} open segment(s) of a stopped collector "
                f"({key_id}); sessions ended: {result.sessions_ended}"
            )
    sealed = spool.sealed_ids()
    state = _load_cursor(context.cursor)
    requested: dict[str, list[float]] = {
        seg: entry for seg, entry in state.get("requested", {}).items() if seg in set(sealed)
    }
    now = time.time()
    requests: list[dg.RunRequest] = []
    for segment_id in sealed:
        if len(requests) >= MAX_RUNS_PER_TICK:
            break
        entry = requested.get(segment_id)
        if entry is None:
            requested[segment_id] = [now, 0]
            requests.append(_request(segment_id, segment_id))
            continue
        first, retries = entry
        if now - first < CHECK_AFTER_S * (retries + 1) or retries >= MAX_RETRIES:
            continue
        runs = context.instance.get_runs(
            filters=dg.RunsFilter(tags={SEGMENT_TAG: segment_id}), limit=1
        )
        if runs and runs[0].status in _FINISHED_BADLY:
            retries += 1
            requested[segment_id] = [first, retries]
            requests.append(_request(segment_id, f"{segment_id}:retry{retries}"))
    cursor = json.dumps({"requested": requested}, separators=(",", ":"))
    if not requests:
        return dg.SensorResult(
            skip_reason=dg.SkipReason(f"no new sealed segments ({len(sealed)} waiting)"),
            cursor=cursor,
        )
    return dg.SensorResult(run_requests=requests, cursor=cursor)


def _request(segment_id: str, run_key: str) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=run_key,
        run_config=_run_config(segment_id),
        tags={SEGMENT_TAG: segment_id},
    )


def _load_cursor(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
