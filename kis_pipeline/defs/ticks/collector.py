"""The tick collector as a Dagster job, started on trading days by a market-hours sensor.

`tick_collector_job` runs the same collector as `kis-pipeline stream` (streaming/runner.py) and
stops by itself at the end of the KRX window (15:45 KST), or after `duration_s` when set. Dagster
run termination (SIGTERM) stops it cleanly: subscriptions released, last segment sealed.

`tick_collector_sensor` checks every minute: on a trading day inside the window (calendar-aware,
market_hours.py), with no collector run in progress and no live collector heartbeat in the spool
(a `kis-pipeline stream` started by hand counts), it requests a run. A collector that dies is
restarted, but at most MAX_RUNS_PER_DAY times a day and never sooner than RESTART_AFTER_S after
the previous start: a collector that keeps failing must not turn into the connect/close loop that
gets an app key blocked (SPEC §5).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import time

import dagster as dg

from kis_pipeline.common.clock import KST
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.kis.settings import parse_venue
from kis_pipeline.streaming import heartbeat
from kis_pipeline.streaming.market_hours import TradingCalendar, warehouse_lookup
from kis_pipeline.streaming.runner import StreamOptions, stream
from kis_pipeline.streaming.spool import Spool
from kis_pipeline.streaming.subscriptions import DEFAULT_TRS

MAX_RUNS_PER_DAY = 4
RESTART_AFTER_S = 300.0
_ACTIVE = (
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
)


# Declared as a schema rather than a `dg.Config` class, which postponed annotations would hide.
COLLECTOR_CONFIG = {
    "duration_s": dg.Field(
        dg.Noneable(float),
        default_value=None,
        description="Stop after this many seconds (default: at the end of today's KRX window).",
    ),
    "symbols": dg.Field(
        [str], default_value=[], description="Default: KIS_SYMBOLS, else the volume ranking."
    ),
    "trs": dg.Field([str], default_value=list(DEFAULT_TRS), description="TRs per symbol."),
    "seal_interval_s": dg.Field(float, default_value=5.0),
    "persist": dg.Field(
        bool,
        default_value=False,
        description="Also persist in-process (normally the sensor's job).",
    ),
}


@dg.op(
    config_schema=COLLECTOR_CONFIG,
    description="Hold the KIS WebSocket session and spool every frame until the close.",
)
def run_tick_collector(context, kis: KisResource) -> None:
    from kis_pipeline.defs.backend import backend

    config = context.op_config
    options = StreamOptions(
        duration_s=config["duration_s"],
        symbols=list(config["symbols"]) or None,
        persist=bool(config["persist"]),
        trs=tuple(config["trs"]) or DEFAULT_TRS,
        seal_interval_s=float(config["seal_interval_s"]),
        progress_s=60.0,
    )
    with backend(kis.settings()) as settings:
        # KIS_VENUE chooses whose feeds, as it chooses whose daily prices.
        options = dataclasses.replace(
            options, venue=settings.venue, overseas=settings.overseas_tick_symbols
        )
        outcome = stream(settings, options, echo=context.log.info)
    summary = outcome.summary
    context.log.info(
        f"stopped ({summary.stop_reason}): {summary.sessions} session(s), {summary.frames} "
        f"frames, {summary.records} ticks, {summary.segments} segment(s)"
    )
    if summary.problems:
        context.log.warning("refused subscriptions: " + "; ".join(summary.problems))


@dg.job(
    description="The tick collector: KIS WebSocket -> sealed spool segments, until the close.",
    tags={"kis/domain": "ticks"},
)
def tick_collector_job() -> None:
    run_tick_collector()


def _now() -> dt.datetime:
    return dt.datetime.now(KST)


@dg.sensor(
    job=tick_collector_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts tick_collector_job on trading days during KRX hours (08:30-15:45 KST; "
    "07:50-20:15 when KIS_VENUE is NXT or KRX+NXT).",
)
def tick_collector_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource
) -> dg.SensorResult | dg.SkipReason:
    wh = warehouse.warehouse()
    now = _now()
    # The collector streams KIS_VENUE's feeds: Nextrade's day is longer than KRX's.
    venue = parse_venue(os.environ.get("KIS_VENUE"))
    calendar = TradingCalendar(warehouse_lookup(wh), venue=venue)
    if calendar.session_end(now) is None:
        nxt = calendar.next_start(now)
        return dg.SkipReason(
            f"{venue} window closed; next one opens {nxt:%Y-%m-%d %H:%M} KST"
            if nxt
            else f"{venue} window closed; no trading day ahead in the calendar"
        )
    active = context.instance.get_runs(
        filters=dg.RunsFilter(job_name=tick_collector_job.name, statuses=list(_ACTIVE)), limit=1
    )
    if active:
        return dg.SkipReason(f"collector run {active[0].run_id} is in progress")
    spool = Spool.for_warehouse(wh.root)
    for path in spool.heartbeats():
        beat = heartbeat.read_heartbeat(path)
        if heartbeat.is_alive(beat):
            return dg.SkipReason(f"a collector (pid {beat.get('pid')}) is already streaming")
    day = now.date().isoformat()
    state = json.loads(context.cursor) if context.cursor else {}
    if state.get("day") != day:
        state = {"day": day, "runs": 0, "last": 0.0}
    if state["runs"] >= MAX_RUNS_PER_DAY:
        return dg.SkipReason(f"collector already started {state['runs']} times today; not again")
    if time.time() - float(state["last"]) < RESTART_AFTER_S:
        return dg.SkipReason("the last collector started less than 5 minutes ago")
    state["runs"] += 1
    state["last"] = time.time()
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"collector-{day}-{state['runs']}")],
        cursor=json.dumps(state),
    )
