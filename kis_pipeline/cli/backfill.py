"""`kis-pipeline backfill`: materialize date-partitioned assets over a range through Dagster.

Order of work: check the request (dates, asset names, symbols) before any API call; start the
embedded simulator if `KIS_ENV=sim` and no `KIS_REST_URL` (its URLs reach the runs as values
of their resources); plan the runs in dependency order (`backfill_plan.py`); execute
them one by one in this process against the instance of `dagster.yaml`, drawing a progress
bar from what the assets publish (`kis_pipeline.lib.progress`); print a summary. `--missing` skips
partitions the instance already records as materialized (a run that failed records none, so
its range is done again; the fetched-window cache makes that cheap).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import dagster as dg

from kis_pipeline.cli import dagster_runner as runner
from kis_pipeline.cli.backfill_plan import (
    KST,
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
from kis_pipeline.lib import progress as progress_files
from kis_pipeline.lib.read_ahead import READ_AHEAD_TAG
from kis_pipeline.lib.run_context import (
    ALLOW_INCOMPLETE_TAG,
    OWN_TICKERS,
    PROGRESS_TAG,
    SYMBOLS_TAG,
)
from kis_pipeline.warehouse.statements import Count


@dataclass
class RunOutcome:
    run: runner.RunSpec
    success: bool
    seconds: float
    errors: list[str] = field(default_factory=list)
    assets: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: str = ""
    checks_failed: list[str] = field(default_factory=list)
    checks_warned: list[str] = field(default_factory=list)
    run_id: str = ""
    started: float = 0.0  # time.monotonic() at its start
    # Rows to count per asset once every run has ended (`_count_rows`).
    to_count: dict[str, Count] = field(default_factory=dict)


@dataclass
class Summary:
    runs: list[RunOutcome] = field(default_factory=list)
    rate_limit: float = 0.0
    seconds: float = 0.0
    # Records KIS sent that broke their table's rules, per table (in `rest_rejects`).
    rejects: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.success for r in self.runs)


def run_backfill(
    request: BackfillRequest,
    *,
    stream: TextIO | None = None,
    out: TextIO | None = None,
    tags: dict[str, str] | None = None,
    defs: dg.Definitions | None = None,
    settings: KisSettings | None = None,
) -> Summary:
    """Validate, start the backend if needed, run every planned run; returns the summary.

    `defs` defaults to the code location (`kis_pipeline.definitions`), `settings` to the
    environment's.
    """
    from kis_pipeline.defs.backend import backend
    from kis_pipeline.defs.resources import simulator_resources

    stream, out = stream or sys.stderr, out or sys.stdout
    validate_dates(request)
    if defs is None:
        from kis_pipeline.definitions import defs

    settings = settings or KisSettings.from_env()
    assets = validate_request(request, defs, settings)
    home = runner.dagster_home(settings)
    summary = Summary(rate_limit=settings.rate_limit)
    started = time.monotonic()
    started_at = dt.datetime.now(KST)
    graph = defs.resolve_asset_graph()
    with backend(settings) as live, runner.open_instance(home) as instance:
        # A simulator this command (or its caller) started reaches the runs as values.
        resources = simulator_resources(live) if live.env == "sim" else None
        validate_symbols(request.symbols, live)
        if not request.assets:
            stream.write("".join(f"{line}\n" for line in left_out(defs)))
        reaped = runner.reap_stale_runs(instance)
        if reaped:
            stream.write(f"marked {len(reaped)} abandoned run(s) as failed\n")
        # What a killed command left: its progress folder. (Files a killed run wrote but never
        # committed are no part of the lake; maintenance deletes them.)
        progress_files.sweep_scratch()
        runs = plan(request, defs, assets, instance, settings=live, stream=stream)
        _create_tables(live, runs)
        if not runs:
            stream.write("nothing to do: every partition in the range is materialized\n")
        failed: set[dg.AssetKey] = set()
        with (
            progress_files.scratch_dir() as scratch,
            StopOnSignal() as stop,
        ):
            for number, run in enumerate(runs, start=1):
                if stop.poll() is not None:
                    break
                blocked = sorted(
                    {
                        k.to_user_string()
                        for asset in run.assets
                        for k in runner.selected_ancestors(graph, asset, failed)
                    }
                )
                if blocked:
                    outcome = RunOutcome(run, False, 0.0, skipped=f"{', '.join(blocked)} failed")
                    summary.runs.append(outcome)
                    failed.update(run.assets)
                    stream.write(f"[{number}/{len(runs)}] {run.describe()}: skipped\n")
                    continue
                try:
                    outcome = _execute(
                        defs,
                        instance,
                        run,
                        request,
                        live,
                        Path(scratch),
                        number,
                        len(runs),
                        stream,
                        tags,
                        resources,
                    )
                except KeyboardInterrupt:
                    # Between two runs, or in our own code around one: nothing was recorded.
                    break
                summary.runs.append(outcome)
                if not outcome.success:
                    failed.update(run.assets)
            signum = stop.poll()
        _count_rows(live, summary.runs)
        summary.rejects = _rejects_since(live, started_at)
    summary.seconds = time.monotonic() - started
    print_summary(summary, out)
    if signum is not None:
        raise Stopped(signum, stopped_message(request, summary, len(runs)))
    return summary


def _create_tables(settings: KisSettings, runs: Sequence[runner.RunSpec]) -> None:
    """Make the tables of the planned assets (those named like their table) before the runs:
    two catalog commits for all of them instead of two per table on its first write, which
    on a fresh lake cost more than a small backfill's writes themselves."""
    from kis_pipeline.warehouse import TABLES, WarehouseError

    names = sorted({key.path[-1] for run in runs for key in run.assets} & set(TABLES))
    # A lake that refuses is left to the first run that writes: it says what is wrong.
    with contextlib.suppress(WarehouseError):
        open_warehouse(settings).ensure(names)


def stopped_message(request: BackfillRequest, summary: Summary, planned: int) -> str:
    """What a stopped backfill did, and the command that picks up where it stopped."""
    done = sum(1 for r in summary.runs if r.success)
    again = [f"--from {request.start}", f"--to {request.end}"]
    if request.assets:
        again.append(f"--assets {','.join(request.assets)}")
    if request.symbols:
        again.append(f"--symbols {','.join(request.symbols)}")
    return (
        f"stopped after {done} of {planned} run(s); the step it interrupted recorded nothing. "
        f"Resume with: kis-pipeline backfill {' '.join(again)} --missing"
    )


def _execute(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    run: runner.RunSpec,
    request: BackfillRequest,
    settings: KisSettings,
    scratch: Path,
    number: int,
    total: int,
    stream: TextIO,
    tags: dict[str, str] | None,
    resources: Mapping[str, object] | None = None,
) -> RunOutcome:
    directory = scratch / f"run-{number}"
    # Runs execute here, step after step: later steps may fetch while earlier ones write.
    run_tags = {PROGRESS_TAG: str(directory), READ_AHEAD_TAG: "true", **(tags or {})}
    if request.symbols:
        run_tags[SYMBOLS_TAG] = ",".join(request.symbols)
    if request.allow_incomplete:
        run_tags[ALLOW_INCOMPLETE_TAG] = "true"
    t0 = time.monotonic()
    with progress_files.ProgressBar(
        directory, f"[{number}/{total}] {run.describe()}", stream
    ) as bar:
        bar.failed = True  # until the run says otherwise: an interrupt leaves it so
        result = runner.execute(defs, instance, run, tags=run_tags, resources=resources)
        bar.failed = not result.success
    outcome = RunOutcome(
        run,
        result.success,
        time.monotonic() - t0,
        errors=runner.step_errors(result),
        assets=progress_files.read_all(directory),
        run_id=result.run_id,
        started=t0,
    )
    graph = defs.resolve_asset_graph()
    for key in run.assets:
        name = key.to_user_string()
        state = outcome.assets.setdefault(name, {"asset": name})
        if "calls" not in state:
            # Assets that publish no progress still report their calls in metadata.
            meta = _first_metadata(result, name)
            state["calls"] = _meta_int(meta, "data_calls", _meta_int(meta, "calls", 0))
            state["calls_planned"] = _meta_int(meta, "calls_planned", state["calls"])
            state["retries"] = _meta_int(meta, "retries", 0)
        # A failed run records no partition: the rows it may have replaced are not its own.
        # `--symbols` restricts domestic symbols; an asset of its own tickers wrote them all.
        own = OWN_TICKERS in graph.get(key).metadata
        symbols = () if own else request.symbols
        count = row_count(name, run.keys, symbols)
        # An asset that writes into another's table (sector_index_daily into index_daily)
        # has no row count of its own: that table's line counts its rows.
        state.pop("rows", None)
        if count is not None:
            state["rows"] = 0
            if result.success:
                outcome.to_count[name] = count
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    outcome.checks_failed = sorted(
        e.check_name for e in failed if e.severity != dg.AssetCheckSeverity.WARN
    )
    outcome.checks_warned = sorted(
        e.check_name for e in failed if e.severity == dg.AssetCheckSeverity.WARN
    )
    return outcome


def _rejects_since(settings: KisSettings, since: dt.datetime) -> dict[str, int]:
    """Records rejected into `rest_rejects` since `since`, per target table; a record fetched
    twice (raw bars again for the adjusted factor) counts once."""
    from kis_pipeline.warehouse.rejects import rest_rejects_since

    frame = rest_rejects_since(open_warehouse(settings), since)
    records = frame.unique(subset=["target_table", "endpoint", "symbol", "date", "raw"])
    counts = records.group_by("target_table").len().sort("target_table")
    return dict(counts.iter_rows())


def _first_metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization  # type: ignore[union-attr]
        if materialization is not None and materialization.asset_key.to_user_string() == asset:
            return dict(materialization.metadata)
    return {}


def _meta_int(meta: dict[str, Any], name: str, default: int) -> int:
    value = meta.get(name)
    raw = getattr(value, "value", value)
    return int(raw) if isinstance(raw, int | float) else default


def row_count(table: str, keys: Sequence[str], symbols: Sequence[str]) -> Count | None:
    """The rows the warehouse holds for `table` in a run's partitions, of the run's symbols when
    it was restricted to some (None if not a table): counted once every run has ended."""
    from kis_pipeline.warehouse import TABLES

    spec = TABLES.get(table)
    if spec is None:
        return None
    if spec.partition_by == "year":
        keys = sorted({k[:4] for k in keys})
    where, params = "true", []
    if symbols and "symbol" in spec.schema:
        where, params = "symbol IN (SELECT unnest(?::VARCHAR[]))", [list(symbols)]
    return Count(table, keys or None, where, params)


def _count_rows(settings: KisSettings, runs: Sequence[RunOutcome]) -> None:
    """Each run's assets' `rows`, all counted in one query."""
    asked = [
        (outcome.assets[name], count)
        for outcome in runs
        for name, count in outcome.to_count.items()
    ]
    if not asked:
        return
    counted = open_warehouse(settings).counts([count for _, count in asked])
    for (state, _), rows in zip(asked, counted, strict=True):
        state["rows"] = rows


def _covered(spans: Sequence[tuple[float, float]]) -> float:
    """Seconds covered by at least one of `spans`: assets read ahead fetch at the same time,
    and their overlap is one stretch of the limiter's time, not two."""
    covered, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            covered += end - max(start, reach)
            reach = end
    return covered


def print_summary(summary: Summary, out: TextIO) -> None:
    rows: dict[str, int] = {}
    calls = planned = retries = timed_calls = 0
    wait = 0.0
    spans: list[tuple[float, float]] = []
    failures: list[str] = []
    checks: list[str] = []
    warned: list[str] = []
    for outcome in summary.runs:
        if outcome.skipped:
            failures.append(f"{outcome.run.describe()}: skipped, {outcome.skipped}")
            continue
        checks.extend(outcome.checks_failed)
        warned.extend(outcome.checks_warned)
        for name, state in outcome.assets.items():
            if "rows" in state:
                rows[name] = rows.get(name, 0) + int(state["rows"])
            calls += int(state.get("calls", 0))
            planned += int(state.get("calls_planned", 0))
            retries += int(state.get("retries", 0))
            wait += float(state.get("limiter_wait_s", 0.0))
            if "started_at" in state:
                end = float(state.get("finished_at", state.get("updated_at", 0)))
                spans.append((float(state["started_at"]), end))
                timed_calls += int(state.get("calls", 0))
            for symbol, error in (state.get("failures") or {}).items():
                failures.append(f"{name} {symbol}: {error}")
        if not outcome.success:
            failures.extend(f"{outcome.run.describe()}: {e}" for e in outcome.errors)
    ok = sum(1 for r in summary.runs if r.success)
    out.write(f"backfill: {ok}/{len(summary.runs)} run(s) succeeded in {summary.seconds:.1f}s\n")
    for name, count in sorted(rows.items()):
        out.write(f"  {name}: {count} rows\n")
    out.write(
        f"  requests: {calls} made, {planned} planned, {retries} retries, "
        f"{wait:.1f}s waiting on the limiter\n"
    )
    busy = _covered(spans)
    if busy > 0 and summary.rate_limit:
        rate = timed_calls / busy
        out.write(
            f"  rate: {rate:.1f} requests/s while assets that report progress ran, limit "
            f"{summary.rate_limit:g}/s ({rate / summary.rate_limit:.0%})\n"
        )
    if summary.rejects:
        listed = ", ".join(f"{table} {count}" for table, count in summary.rejects.items())
        out.write(f"  records rejected: {listed} (see the rest_rejects table)\n")
    if checks:
        out.write(f"  checks failed: {', '.join(sorted(set(checks)))}\n")
        if any(c.endswith(("_complete", "_no_rejects")) for c in checks):
            out.write(
                "  rows are missing or were rejected: rerun the range once KIS serves them, "
                "or pass --allow-incomplete to accept what was written\n"
            )
    if warned:
        out.write(f"  checks warned: {', '.join(sorted(set(warned)))}\n")
    if failures:
        out.write(f"  failures ({len(failures)}):\n")
        for line in failures:
            out.write(f"    {line}\n")
