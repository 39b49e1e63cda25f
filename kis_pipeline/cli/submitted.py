"""`kis-pipeline backfill --submit`: a range handed to the Dagster instance as one asset backfill.

The command plans the partitions as the in-process mode does (`backfill_plan.plan`: the same
assets, the same reference snapshot and calendar it adds, the same `--missing` test) and adds
them to the instance as one `PartitionBackfill`. From there it is Dagster's: the backfill daemon
requests runs as parents complete, the run queue launches them, and the code location's
executor (multiprocess, or celery on a team's workers) executes their steps, on whichever host
runs them. The command only reads the backfill's status from the instance and draws it.

Ctrl-C detaches and leaves the backfill to the daemon (`--follow ID` attaches again);
`--cancel ID` asks the daemon to cancel it, which terminates its runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import dagster as dg
from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset
from dagster._core.definitions.events import AssetKeyPartitionKey
from dagster._core.execution.asset_backfill import (
    AssetBackfillStatus,
    PartitionedAssetBackfillStatus,
)
from dagster._core.execution.backfill import (
    BULK_ACTION_TERMINAL_STATUSES,
    BulkActionStatus,
    PartitionBackfill,
)

from kis_pipeline.cli import dagster_runner as runner
from kis_pipeline.cli.backfill import row_count
from kis_pipeline.cli.backfill_plan import (
    BackfillError,
    BackfillRequest,
    left_out,
    plan,
    validate_dates,
    validate_request,
    validate_symbols,
)
from kis_pipeline.cli.stopping import StopOnSignal, Stopped
from kis_pipeline.defs.backend import open_warehouse
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.lib.progress import ProgressBar
from kis_pipeline.lib.run_context import (
    ALLOW_INCOMPLETE_TAG,
    OWN_TICKERS,
    SYMBOLS_TAG,
    tagged_symbols,
)
from kis_pipeline.warehouse import WarehouseError

POLL_S = 1.0
# A backfill daemon that has not said it is alive for this long is taken to be down.
DAEMON_SILENT_S = 120.0


@dataclass
class Followed:
    """What a followed backfill came to."""

    backfill_id: str
    status: str
    seconds: float
    runs: dict[str, int] = field(default_factory=dict)  # by run status
    errors: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == BulkActionStatus.COMPLETED_SUCCESS.value


def submit(
    request: BackfillRequest,
    backfill_id: str,
    *,
    stream: TextIO | None = None,
    defs: dg.Definitions | None = None,
    settings: KisSettings | None = None,
) -> None:
    """Plan `request` and add it to the instance as one asset backfill named `backfill_id`."""
    from kis_pipeline.defs.backend import backend

    stream = stream or sys.stderr
    validate_dates(request)
    if defs is None:
        from kis_pipeline.definitions import defs
    settings = settings or KisSettings.from_env()
    assets = validate_request(request, defs, settings)
    graph = defs.resolve_asset_graph()
    with backend(settings) as live, runner.open_instance(runner.dagster_home(live)) as instance:
        validate_symbols(request.symbols, live)
        if not request.assets:
            stream.write("".join(f"{line}\n" for line in left_out(defs)))
        runs = plan(request, defs, assets, instance, settings=live, stream=stream)
        if not runs:
            raise BackfillError("nothing to submit: every partition in the range is materialized")
        wanted = {
            AssetKeyPartitionKey(asset, key)
            for run in runs
            for asset in run.assets
            for key in (run.keys or (None,))
        }
        tags = {}
        if request.symbols:
            tags[SYMBOLS_TAG] = ",".join(request.symbols)
        if request.allow_incomplete:
            tags[ALLOW_INCOMPLETE_TAG] = "true"
        instance.add_backfill(
            PartitionBackfill.from_asset_graph_subset(
                backfill_id=backfill_id,
                backfill_timestamp=time.time(),
                tags=tags,
                dynamic_partitions_store=instance,
                asset_graph_subset=AssetGraphSubset.from_asset_partition_set(wanted, graph),
                title=f"kis-pipeline backfill --from {request.start} --to {request.end}",
                description=None,
                run_config=None,
            )
        )
        stream.write(
            f"submitted backfill {backfill_id}: {len(wanted)} asset partition(s) of "
            f"{len({a for run in runs for a in run.assets})} asset(s) "
            f"({len(runs)} run(s) in the in-process plan; the daemon cuts its own)\n"
        )
        silent = _daemon_silence(instance)
        if silent:
            stream.write(f"warning: {silent}\n")


def new_id() -> str:
    """An id for a backfill to submit: Dagster's own are 8 lowercase letters, ours are told
    apart by a prefix (and chosen before submitting, so an interrupt can still name it)."""
    return "kis" + uuid.uuid4().hex[:8]


def exists(backfill_id: str, settings: KisSettings | None = None) -> bool:
    settings = settings or KisSettings.from_env()
    with runner.open_instance(runner.dagster_home(settings)) as instance:
        return instance.get_backfill(backfill_id) is not None


def _daemon_silence(instance: dg.DagsterInstance) -> str:
    """Why nothing may run the backfill, or "" while a backfill daemon is alive."""
    beat = instance.get_daemon_heartbeats().get("BACKFILL")
    if beat is not None and time.time() - beat.timestamp < DAEMON_SILENT_S:
        return ""
    return (
        "no Dagster daemon is running backfills on this instance "
        f"(DAGSTER_HOME={instance.root_directory}): the backfill waits until one starts "
        "(`kis-pipeline dev`, or `dagster-daemon run -w workspace.yaml` with the same "
        "DAGSTER_HOME)"
    )


def _existing(instance: dg.DagsterInstance, backfill_id: str) -> PartitionBackfill:
    backfill = instance.get_backfill(backfill_id)
    if backfill is None or backfill.asset_backfill_data is None:
        raise BackfillError(
            f"no asset backfill {backfill_id} in the instance at {instance.root_directory}: "
            "the UI's Backfills page lists them"
        )
    return backfill


def cancel(backfill_id: str, *, stream: TextIO, settings: KisSettings | None = None) -> bool:
    """Ask the daemon to cancel a backfill: it stops requesting runs and terminates its runs
    (which record nothing for the steps they interrupt). Whether a daemon is there to do it."""
    settings = settings or KisSettings.from_env()
    with runner.open_instance(runner.dagster_home(settings)) as instance:
        backfill = _existing(instance, backfill_id)
        if backfill.status in BULK_ACTION_TERMINAL_STATUSES:
            stream.write(f"backfill {backfill_id} has already ended: {backfill.status.value}\n")
            return True
        _mark_canceling(instance, backfill_id)
        silent = _daemon_silence(instance)
        if silent:
            stream.write(f"backfill {backfill_id} is marked for cancelling; warning: {silent}\n")
            return False
        stream.write(f"cancelling backfill {backfill_id}: the daemon terminates its runs\n")
        return True


# The daemon writes back the backfill it read at the start of an iteration, so a mark made
# meanwhile can be lost (seen on a backfill submitted and cancelled within a second): the mark
# is made again until an iteration has kept it.
CANCEL_CONFIRM_S = 1.5
CANCEL_ATTEMPTS = 5


def _mark_canceling(instance: dg.DagsterInstance, backfill_id: str) -> None:
    for _ in range(CANCEL_ATTEMPTS):
        backfill = _existing(instance, backfill_id)
        if backfill.status in BULK_ACTION_TERMINAL_STATUSES:
            return
        if backfill.status != BulkActionStatus.CANCELING:
            instance.update_backfill(backfill.with_status(BulkActionStatus.CANCELING))
        time.sleep(CANCEL_CONFIRM_S)
        if _existing(instance, backfill_id).status != BulkActionStatus.REQUESTED:
            return


def follow(
    backfill_id: str,
    *,
    stream: TextIO | None = None,
    out: TextIO | None = None,
    defs: dg.Definitions | None = None,
    settings: KisSettings | None = None,
    poll_s: float = POLL_S,
) -> Followed:
    """Draw the backfill's progress until it ends; print and return its summary. A signal
    detaches (raised as `Stopped`, saying how to follow or cancel it) and leaves it running."""
    stream, out = stream or sys.stderr, out or sys.stdout
    if defs is None:
        from kis_pipeline.definitions import defs
    settings = settings or KisSettings.from_env()
    graph = defs.resolve_asset_graph()
    started = time.monotonic()
    latest: dict[str, dict[str, Any]] = {}
    with runner.open_instance(runner.dagster_home(settings)) as instance:
        backfill = _existing(instance, backfill_id)
        with StopOnSignal() as stop:
            try:
                # The bar draws from `latest`, which only this thread reads the instance for.
                with ProgressBar(
                    None, f"backfill {backfill_id}", stream, source=lambda: dict(latest)
                ):
                    while True:
                        backfill = _existing(instance, backfill_id)
                        latest.update(_asset_states(backfill, graph))
                        if backfill.status in BULK_ACTION_TERMINAL_STATUSES:
                            break
                        time.sleep(poll_s)
            except KeyboardInterrupt:
                raise Stopped(stop.poll() or signal.SIGINT, detached(backfill_id)) from None
        followed = Followed(backfill_id, backfill.status.value, time.monotonic() - started)
        _read_runs(instance, backfill_id, followed)
    followed.rows = _rows(backfill, graph, settings)
    print_followed(followed, latest, out)
    return followed


def detached(backfill_id: str) -> str:
    return (
        f"detached: backfill {backfill_id} goes on in the Dagster daemon. Follow it with "
        f"`kis-pipeline backfill --follow {backfill_id}`, cancel it with "
        f"`kis-pipeline backfill --cancel {backfill_id}`"
    )


def _asset_states(backfill: PartitionBackfill, graph: Any) -> dict[str, dict[str, Any]]:
    states: dict[str, dict[str, Any]] = {}
    data = backfill.asset_backfill_data
    assert data is not None
    for status in data.get_backfill_status_per_asset_key(graph):
        name = status.asset_key.to_user_string()
        if isinstance(status, PartitionedAssetBackfillStatus):
            counts = status.partitions_counts_by_status
            states[name] = {
                "asset": name,
                "partitions_total": status.num_targeted_partitions,
                "partitions_done": counts.get(AssetBackfillStatus.MATERIALIZED, 0),
                "partitions_failed": counts.get(AssetBackfillStatus.FAILED, 0),
            }
        else:
            done = status.backfill_status == AssetBackfillStatus.MATERIALIZED
            failed = status.backfill_status == AssetBackfillStatus.FAILED
            states[name] = {
                "asset": name,
                "partitions_total": 1,
                "partitions_done": int(done),
                "partitions_failed": int(failed),
            }
    return states


def _read_runs(instance: dg.DagsterInstance, backfill_id: str, followed: Followed) -> None:
    runs = instance.get_runs(filters=dg.RunsFilter.for_backfill(backfill_id))
    for run in runs:
        followed.runs[run.status.value] = followed.runs.get(run.status.value, 0) + 1
        if run.status == dg.DagsterRunStatus.SUCCESS:
            continue
        failures = [
            entry.dagster_event
            for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
            if entry.dagster_event is not None
        ]
        for line in runner.failure_lines(failures) or [run.status.value.lower()]:
            followed.errors.append(f"run {run.run_id[:8]}: {line}")


def _rows(backfill: PartitionBackfill, graph: Any, settings: KisSettings) -> dict[str, int]:
    """Rows the warehouse holds in the backfill's partitions, per table, in one query."""
    data = backfill.asset_backfill_data
    assert data is not None
    symbols = tagged_symbols(backfill.tags.get(SYMBOLS_TAG, "")) or ()
    asked = {}
    for key in data.target_subset.asset_keys:
        keys: Sequence[str] = ()
        if graph.get(key).partitions_def is not None:
            keys = sorted(data.target_subset.get_partitions_subset(key).get_partition_keys())
        own = OWN_TICKERS in graph.get(key).metadata
        count = row_count(key.to_user_string(), keys, () if own else symbols)
        if count is not None:
            asked[key.to_user_string()] = count
    if not asked:
        return {}
    # Counting is a courtesy of the summary: a lake this host cannot open costs the counts.
    with contextlib.suppress(WarehouseError):
        counted = open_warehouse(settings).counts(list(asked.values()))
        return dict(zip(asked, counted, strict=True))
    return {}


def print_followed(followed: Followed, states: dict[str, dict[str, Any]], out: TextIO) -> None:
    runs = sum(followed.runs.values())
    ok = followed.runs.get(dg.DagsterRunStatus.SUCCESS.value, 0)
    out.write(
        f"backfill {followed.backfill_id}: {followed.status.lower()}, {ok}/{runs} run(s) "
        f"succeeded, followed for {dt.timedelta(seconds=round(followed.seconds))}\n"
    )
    for name, state in sorted(states.items()):
        line = f"  {name}: {state['partitions_done']}/{state['partitions_total']} partitions"
        if state.get("partitions_failed"):
            line += f", {state['partitions_failed']} failed"
        if name in followed.rows:
            line += f", {followed.rows[name]} rows"
        out.write(line + "\n")
    if followed.errors:
        out.write(f"  failures ({len(followed.errors)}):\n")
        for line in followed.errors:
            out.write(f"    {line}\n")
