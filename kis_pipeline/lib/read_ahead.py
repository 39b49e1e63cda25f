"""Read-ahead: the later steps of a run fetch while the earlier ones check and write.

Dagster's in-process executor (what `kis-pipeline backfill` runs) executes a run's steps one
after another, so without this the API sits idle while each step checks its frame, writes it
to the lake and records its events, and a backfill takes well over the time its calls need at
the limit. An asset whose work splits into a fetch phase and a writing phase registers its
fetch phase here (`register`). The first step of a run to call `fetched` (or `begin`, which
the price chain calls: it fetches for itself, and goes first) starts one worker thread that
runs, in the executor's order (topological, then by step key), the fetch phase of
every other registered step of the run whose parents are not in the run: what those read (the
calendar, the universe, their own ledger) is already written and no earlier step of the run
changes it. Each step then takes its result, or fetches itself when nothing was started for it
(a step run alone, another executor, a retry). A queued fetch a step reaches first is
cancelled, so no step ever waits on another's fetch. The worker and the steps share the
client's limiter, so the run as a whole stays at the limit.

Only runs tagged `kis/read_ahead` read ahead: the tag says the run's steps execute in this
process, one after another (`kis-pipeline backfill` sets it). Under the multiprocess executor
each step is a process of its own, and a worker there would fetch for steps it never serves.

A fetch phase reads only what the whole run shares (`RunScope`) and never calls Dagster (its
logging is not thread-safe); its exceptions reach the step that takes its result, as if the
step had fetched itself. When the run ends (`close`, from the `kis` resource's teardown),
fetches not yet begun are cancelled.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg

from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.warehouse import Warehouse

T = TypeVar("T")
READ_AHEAD_TAG = "kis/read_ahead"
"""Run tag ("true"): the run's steps execute in this process, so later steps may be read ahead."""


@dataclass(frozen=True)
class RunScope:
    """What every step of a run shares: its partition days, the symbols it is restricted to,
    where it publishes progress, its settings, clients and warehouse."""

    days: tuple[dt.date, ...]
    only: tuple[str, ...] | None
    progress_dir: Path | None
    settings: KisSettings
    client: Callable[[], KisClient]
    warehouse: Warehouse


FetchPhase = Callable[[RunScope], Any]


@dataclass(frozen=True)
class _Registered:
    phase: FetchPhase
    in_paper: bool


_PHASES: dict[dg.AssetKey, _Registered] = {}
_RUNS: dict[str, _Worker] = {}
_RUNS_LOCK = threading.Lock()


def register(key: dg.AssetKey, phase: FetchPhase, *, in_paper: bool = False) -> None:
    """Let `key`'s fetch phase run ahead of its step; `in_paper`: also in `KIS_ENV=paper`
    (False where the step skips there, its endpoint missing from KIS's mock service)."""
    _PHASES[key] = _Registered(phase, in_paper)


def begin(context: dg.AssetExecutionContext, scope: RunScope) -> None:
    """Start the run's worker, if it has none yet, for the run's other registered steps.

    Steps that fetch for themselves (the price assets, whose calls interleave with their
    writes) call this first, so the registered steps after them are fetched meanwhile."""
    _worker(context, scope)


def fetched(
    context: dg.AssetExecutionContext, scope: RunScope, phase: Callable[[RunScope], T]
) -> T:
    """`phase(scope)` for this step: the result its run's worker fetched ahead, or fetched
    now. The first call of a run starts the worker for the run's other steps."""
    worker = _worker(context, scope)
    future = None if worker is None else worker.take(context.asset_key)
    return phase(scope) if future is None else future.result()


def _worker(context: dg.AssetExecutionContext, scope: RunScope) -> _Worker | None:
    """The run's worker, started with the run's other steps at its first call; None in a
    run not tagged for read-ahead."""
    if context.run.tags.get(READ_AHEAD_TAG) != "true":
        return None
    with _RUNS_LOCK:
        worker = _RUNS.get(context.run_id)
        if worker is None:
            worker = _RUNS[context.run_id] = _Worker()
            for key in _ahead_of(context, scope):
                worker.submit(key, _PHASES[key].phase, scope)
    return worker


def close(run_id: str | None) -> None:
    """Cancel the run's fetches not yet begun and let its worker end."""
    with _RUNS_LOCK:
        worker = _RUNS.pop(run_id or "", None)
    if worker is not None:
        worker.close()


def _ahead_of(context: dg.AssetExecutionContext, scope: RunScope) -> list[dg.AssetKey]:
    """The run's other registered steps that can fetch now, in the executor's order."""
    layer = context.job_def.asset_layer
    selected = set(layer.selected_asset_keys)
    graph = layer.asset_graph
    partitions = graph.get(context.asset_key).partitions_def
    ready = [
        key
        for key in selected
        if key != context.asset_key
        and key in _PHASES
        and (scope.settings.env != "paper" or _PHASES[key].in_paper)
        and graph.get(key).partitions_def == partitions
        and not graph.get(key).parent_keys & selected
    ]
    return sorted(ready, key=lambda key: key.to_python_identifier())


class _Worker:
    """One daemon thread running submitted fetch phases in order: a fetch still running
    when the process exits must not hold it up."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Future[Any], FetchPhase, RunScope] | None]
        self._queue = queue.SimpleQueue()
        self._futures: dict[dg.AssetKey, Future[Any]] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="read-ahead", daemon=True)
        self._thread.start()

    def submit(self, key: dg.AssetKey, phase: FetchPhase, scope: RunScope) -> None:
        future: Future[Any] = Future()
        with self._lock:
            self._futures[key] = future
        self._queue.put((future, phase, scope))

    def take(self, key: dg.AssetKey) -> Future[Any] | None:
        """The future of `key`'s fetch if it has begun; None (and cancelled) otherwise."""
        with self._lock:
            future = self._futures.pop(key, None)
        if future is None or future.cancel():
            return None
        return future

    def close(self) -> None:
        with self._lock:
            futures, self._futures = list(self._futures.values()), {}
        for future in futures:
            future.cancel()
        self._queue.put(None)

    def _loop(self) -> None:
        while (item := self._queue.get()) is not None:
            future, phase, scope = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(phase(scope))
            except BaseException as exc:
                future.set_exception(exc)
