"""Running asset materializations through Dagster from a command (no daemon, no webserver).

- `dagster_home()` / `open_instance()`: the instance of `dagster.yaml`, under
  `$KIS_WAREHOUSE/.dagster` unless `DAGSTER_HOME` is set, so run history and materialization
  status belong to the warehouse they describe;
- `plan_runs()`: which runs materialize a selection of assets over a date range, in dependency
  order, honouring each asset's backfill policy (a single-run asset gets one run per
  contiguous range of partitions, others one run per partition or per chunk);
- `execute()`: one run, in process, recorded in the instance (the UI of `kis-pipeline dev`
  shows it);
- `reap_stale_runs()`: runs left "started" by a killed command are marked failed and their
  concurrency slots freed, otherwise the `kis_api` pool would wait for them forever.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import warnings
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from kis_pipeline.kis import errors as kis_errors
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.kis.state import pid_alive

# Exception class names whose messages are written for the person running the command.
_OWN_ERRORS = frozenset(
    name
    for name, value in vars(kis_errors).items()
    if isinstance(value, type) and issubclass(value, kis_errors.KisError)
) | {"WarehouseError", "SchemaMismatch", "MissingReference"}
LAUNCHER_TAG = "kis/launcher"
FRESHNESS_SUFFIX = "_fresh"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
INSTANCE_CONFIG = Path(__file__).resolve().parents[2] / "dagster.yaml"
# Used when the package is installed without its source tree (no dagster.yaml beside it).
FALLBACK_CONFIG = """\
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 2
    granularity: op
retention:
  sensor:
    purge_after_days: {skipped: 1, started: 7, success: 7, failure: 30}
  schedule:
    purge_after_days: 90
"""


def dagster_home(settings: KisSettings) -> Path:
    """DAGSTER_HOME if set, else `$KIS_WAREHOUSE/.dagster` holding a copy of dagster.yaml."""
    configured = os.environ.get("DAGSTER_HOME")
    if configured:
        return Path(configured)
    home = (settings.warehouse / ".dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if INSTANCE_CONFIG.is_file():
        if not target.is_file() or target.read_bytes() != INSTANCE_CONFIG.read_bytes():
            shutil.copyfile(INSTANCE_CONFIG, target)
    elif not target.is_file():
        target.write_text(FALLBACK_CONFIG)
    return home


def open_instance(home: Path) -> dg.DagsterInstance:
    """The instance of `home/dagster.yaml`. Where the file leaves storage to Dagster's default,
    the event log is `dagster_event_log`'s: Dagster's SQLite event log over the same files,
    writing a run's events in batches."""
    from dagster._core.instance.config import dagster_instance_config
    from dagster._core.instance.ref import InstanceRef

    from kis_pipeline.lib import dagster_event_log

    config, _ = dagster_instance_config(str(home))
    overrides: dict[str, object] = {}
    if not any(config.get(name) for name in ("storage", "run_storage", "event_log_storage")):
        # Read by Dagster on every event: it is what routes a step's partitions to
        # `store_event_batch`.
        os.environ.setdefault(dagster_event_log.BATCH_SIZE_ENV, str(dagster_event_log.BATCH_SIZE))
        overrides["event_log_storage"] = _local_class(
            dagster_event_log.FastSqliteEventLogStorage, home / "history" / "runs"
        )
    try:
        return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home), overrides=overrides))
    except Exception as exc:
        unreachable = _storage_unreachable(exc, config)
        if unreachable is None:
            raise
        raise unreachable from exc


class InstanceUnreachable(ConnectionError):
    """The server of the Dagster instance's storage (PostgreSQL) cannot be reached; the message
    is one line saying where and what to do."""


def _storage_unreachable(
    exc: Exception, config: Mapping[str, object]
) -> InstanceUnreachable | None:
    if type(exc).__module__.split(".")[0] not in {"dagster_postgres", "sqlalchemy", "psycopg2"}:
        return None
    from kis_pipeline.warehouse.lake import redact

    storage = config.get("storage") or {}
    postgres = storage.get("postgres") if isinstance(storage, Mapping) else None
    url = postgres.get("postgres_url") if isinstance(postgres, Mapping) else None
    if isinstance(url, Mapping) and "env" in url:
        where = f"{url['env']}={redact(os.environ.get(str(url['env']), ''))}"
    else:
        where = "the storage of its dagster.yaml"
    cause = exc.__cause__ or exc
    cause = getattr(cause, "orig", None) or cause  # SQLAlchemy's wrapper: the driver's words
    said = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    return InstanceUnreachable(
        f"cannot reach the Dagster instance's PostgreSQL at {where} ({said}); start it or "
        f"correct that setting (DAGSTER_HOME={os.environ.get('DAGSTER_HOME', '')})"
    )


def _local_class(cls: type, base_dir: Path) -> dict[str, object]:
    # `base_dir` is where Dagster's default for that part of the instance keeps its files.
    return {"module": cls.__module__, "class": cls.__name__, "config": {"base_dir": str(base_dir)}}


def launcher_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def reap_stale_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail runs this host's commands started but that died; returns their run ids."""
    host = socket.gethostname()
    reaped = []
    in_progress = dg.RunsFilter(
        statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING],
        tags={},
    )
    for run in instance.get_runs(filters=in_progress):
        launcher = run.tags.get(LAUNCHER_TAG, "")
        name, _, pid = launcher.rpartition(":")
        if name != host or not pid.isdigit() or pid_alive(int(pid)):
            continue
        instance.report_run_failed(run, "the command that started this run is gone")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        reaped.append(run.run_id)
    return reaped


# -- planning -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSpec:
    """One run: assets sharing a partitions definition, over contiguous partition keys."""

    assets: tuple[dg.AssetKey, ...]
    keys: tuple[str, ...]  # empty for unpartitioned assets
    partitioned: bool

    @property
    def names(self) -> list[str]:
        return [key.to_user_string() for key in self.assets]

    def tags(self) -> dict[str, str]:
        if not self.partitioned or len(self.keys) == 1:
            return {}
        return {RANGE_START_TAG: self.keys[0], RANGE_END_TAG: self.keys[-1]}

    @property
    def partition_key(self) -> str | None:
        return self.keys[0] if self.partitioned and len(self.keys) == 1 else None

    def describe(self) -> str:
        names = ", ".join(self.names)
        if not self.partitioned:
            return names
        if len(self.keys) == 1:
            return f"{names} [{self.keys[0]}]"
        return f"{names} [{self.keys[0]}..{self.keys[-1]}, {len(self.keys)} partitions]"


def partition_keys_in_range(
    partitions_def: dg.PartitionsDefinition, start: dt.date, end: dt.date
) -> list[str]:
    """Keys of `partitions_def` whose time window overlaps [start, end] (dates inclusive)."""
    if not isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        return list(partitions_def.get_partition_keys())
    first = partitions_def.get_first_partition_window()
    last = partitions_def.get_last_partition_window()
    if first is None or last is None or start >= last.end.date() or end < first.start.date():
        return []
    # Only the windows in the range are made, not one per day since the history's start.
    zone = zoneinfo.ZoneInfo(partitions_def.timezone)
    since = max(dt.datetime.combine(start, dt.time(), zone), first.start)
    until = min(dt.datetime.combine(end, dt.time(), zone), last.start)
    return list(
        partitions_def.get_partition_keys_in_range(
            dg.PartitionKeyRange(
                partitions_def.get_partition_key_for_timestamp(since.timestamp()),
                partitions_def.get_partition_key_for_timestamp(until.timestamp()),
            )
        )
    )


def _chunks(
    keys: Sequence[str], order: Mapping[str, int], policy: dg.BackfillPolicy | None
) -> list[tuple[str, ...]]:
    """Contiguous blocks of `keys` (by position in the full key list) cut per the policy."""
    blocks: list[list[str]] = []
    for key in sorted(keys, key=order.__getitem__):
        if blocks and order[key] == order[blocks[-1][-1]] + 1:
            blocks[-1].append(key)
        else:
            blocks.append([key])
    size = None
    if policy is None:
        size = 1
    elif policy.max_partitions_per_run is not None:
        size = policy.max_partitions_per_run
    out: list[tuple[str, ...]] = []
    for block in blocks:
        step = size or len(block)
        out.extend(tuple(block[i : i + step]) for i in range(0, len(block), step))
    return out


def plan_runs(
    defs: dg.Definitions,
    assets: Sequence[dg.AssetKey],
    keys_by_asset: Mapping[dg.AssetKey, Sequence[str]],
) -> list[RunSpec]:
    """Runs materializing `assets` (each over its keys), parents before children.

    Assets go into one run when they share a partitions definition and their backfill
    policies cut their keys into the same runs, and no asset of a later run is among their
    ancestors. Policies that differ but cut a range alike (a year of days under a yearly
    multi-run policy and under a single-run one) still share runs: more steps in a run give
    its read-ahead (`lib.read_ahead`) more to fetch while other steps write.
    """
    graph = defs.resolve_asset_graph()
    selected = set(assets)
    groups: list[tuple[tuple[object, ...], list[dg.AssetKey]]] = []
    group_of: dict[dg.AssetKey, int] = {}
    orders: dict[int, dict[str, int]] = {}
    for key in graph.toposorted_asset_keys:
        if key not in selected:
            continue
        node = graph.get(key)
        partitions_def = node.partitions_def
        keys = keys_by_asset.get(key, ())
        chunks: tuple[tuple[str, ...], ...] = ()
        if partitions_def is not None and keys:
            order = orders.get(id(partitions_def))
            if order is None:
                order = {k: i for i, k in enumerate(partitions_def.get_partition_keys())}
                orders[id(partitions_def)] = order
            chunks = tuple(_chunks(keys, order, node.backfill_policy))
        signature = (partitions_def, chunks)
        floor = max(
            (group_of[p] for p in selected_ancestors(graph, key, selected) if p in group_of),
            default=0,
        )
        index = next((i for i in range(floor, len(groups)) if groups[i][0] == signature), None)
        if index is None:
            groups.append((signature, []))
            index = len(groups) - 1
        groups[index][1].append(key)
        group_of[key] = index

    runs: list[RunSpec] = []
    for (partitions_def, chunks), members in groups:
        if partitions_def is None:
            runs.append(RunSpec(tuple(members), (), partitioned=False))
            continue
        runs.extend(RunSpec(tuple(members), chunk, partitioned=True) for chunk in chunks)
    return runs


def selected_ancestors(
    graph: object, key: dg.AssetKey, selected: set[dg.AssetKey]
) -> set[dg.AssetKey]:
    found: set[dg.AssetKey] = set()
    stack = list(graph.get(key).parent_keys)  # type: ignore[attr-defined]
    while stack:
        parent = stack.pop()
        if parent in found:
            continue
        found.add(parent)
        if graph.has(parent):  # type: ignore[attr-defined]
            stack.extend(graph.get(parent).parent_keys)  # type: ignore[attr-defined]
    return found & selected


# -- execution ------------------------------------------------------------------------------


def execute(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    run: RunSpec,
    *,
    tags: Mapping[str, str] | None = None,
    resources: Mapping[str, object] | None = None,
) -> dg.ExecuteInProcessResult:
    """Execute one planned run in this process, recorded in `instance`; `resources` replace
    the code location's (a command's own simulator, given as values)."""
    job = _job_without_freshness(defs, run.assets)
    return job.execute_in_process(
        # The command draws its own progress and summary; step failures still reach the
        # instance's event log (and the UI) in full.
        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        instance=instance,
        partition_key=run.partition_key,
        tags={**run.tags(), LAUNCHER_TAG: launcher_id(), **(tags or {})},
        raise_on_error=False,
        resources=resources,
    )


def _job_without_freshness(defs: dg.Definitions, assets: Sequence[dg.AssetKey]) -> dg.JobDefinition:
    """A job for `assets` and their checks, except the `*_fresh` ones.

    Freshness is about the clock, not about what a run wrote: a backfill of old days (or its
    first chunk) is not stale data. Those checks run on their own schedules.
    """
    graph = defs.resolve_asset_graph()
    wanted = set(assets)
    # Checks an asset declares as its own check specs are computed by the asset itself and
    # cannot be left out; only separately defined freshness checks can.
    inline = {key for asset in wanted for key in graph.assets_def_for_key(asset).check_keys}
    fresh = [
        key
        for key in graph.asset_check_keys
        if key.asset_key in wanted and key.name.endswith(FRESHNESS_SUFFIX) and key not in inline
    ]
    selection = dg.AssetSelection.assets(*assets)
    if fresh:
        selection = selection - dg.AssetSelection.checks(*fresh)
    name = "kis_backfill_" + "_".join(sorted(a.to_python_identifier() for a in wanted))
    job = dg.define_asset_job(name, selection=selection)
    with warnings.catch_warnings():
        # `plan_runs` put assets of differing policies together only where both cut the run's
        # keys alike; Dagster's warning about the mix would only alarm the user.
        warnings.filterwarnings("ignore", message=".*varying BackfillPolicies")
        return dg.Definitions.merge(defs, dg.Definitions(jobs=[job])).resolve_job_def(name)


def step_errors(result: dg.ExecuteInProcessResult) -> list[str]:
    """One line per failed step: the step and the innermost error message."""
    return failure_lines(result.get_step_failure_events())


def failure_lines(failures: Sequence[dg.DagsterEvent]) -> list[str]:
    """`step_errors` of STEP_FAILURE events read from the instance (a run of another process)."""
    lines = []
    for event in failures:
        failure = event.step_failure_data.user_failure_data
        if failure is not None and failure.description:
            lines.append(f"{event.step_key}: {failure.description}")
            continue
        error = event.step_failure_data.error
        message = ""
        while error is not None:
            # Our own errors already say what is wrong and what to do: stop at the first one
            # rather than descend into the library error it wraps.
            message = error.message.strip() or message
            if error.cls_name == "DagsterAssetCheckFailedError":
                # "...: 2 blocking asset checks failed ...:\n<asset>: <checks>" -> the checks.
                listed = [line.split(": ", 1)[-1] for line in message.splitlines()[1:] if line]
                message = f"blocking checks failed: {', '.join(listed)}"
                break
            if error.cls_name in _OWN_ERRORS:
                # "kis_pipeline.kis.errors.KisTransportError: cannot reach ..." -> the sentence.
                message = message.split(f"{error.cls_name}: ", 1)[-1]
                break
            error = error.cause
        lines.append(f"{event.step_key}: {message.splitlines()[0] if message else 'failed'}")
    return lines
