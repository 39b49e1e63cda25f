"""Read-ahead: in a run of several per-day assets, the later steps' calls go out while the
earlier steps check and write, and the warehouse ends up exactly as with one asset a run."""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import polars as pl
import pytest

from kis_pipeline.cli.dagster_runner import step_errors
from kis_pipeline.defs.calendar import writing
from kis_pipeline.defs.flows import assets as flows_assets
from kis_pipeline.defs.flows import investor_flows, market_investor_flows
from kis_pipeline.defs.market_activity import factory
from kis_pipeline.defs.market_activity.assets import BUILT
from kis_pipeline.defs.prices import assets as price_assets
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.prices import DAILY_CHART_TR_ID
from kis_pipeline.kis.errors import KisApiError
from kis_pipeline.lib import read_ahead
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_elws import ELWS
from kis_pipeline.warehouse import Warehouse
from tests.defs import seed

SYMBOLS = ("005930", "000660")
RANGE = ("2026-10-01", "2026-11-20")
ASSETS = [*(built.asset for built in BUILT.values()), investor_flows, market_investor_flows]
TABLES = sorted(asset.key.to_user_string() for asset in ASSETS)
# What `kis-pipeline backfill` tags its runs with: their steps run here, one after another.
AHEAD = {read_ahead.READ_AHEAD_TAG: "true"}
# A lake slower than the API: what the read-ahead hides.
SLOW_WRITE_S = 0.3
# The first write takes longer still, so that on a loaded machine the later steps' calls have
# time to go out while it lasts (what the read-ahead test measures).
FIRST_WRITE_S = 1.5


@pytest.fixture
def wh(wh: Warehouse, market: Market, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    # The ELW family is skipped without a list: name the simulator's warrants.
    monkeypatch.setenv("KIS_ELW_SYMBOLS", ",".join(elw.code for elw in ELWS))
    return seed.seed_watchlist(wh, market, monkeypatch, SYMBOLS, 2026, dt.date(2026, 11, 20))


@dataclass
class Timeline:
    calls: list[float] = field(default_factory=list)
    writes: list[tuple[float, float]] = field(default_factory=list)

    def calls_before_the_first_write_ended(self) -> int:
        first = min(end for _, end in self.writes)
        return sum(1 for t in self.calls if t < first)


@pytest.fixture
def timeline(monkeypatch: pytest.MonkeyPatch) -> Timeline:
    """When KIS calls went out, and when the steps wrote."""
    seen = Timeline()
    get = KisClient.get

    def timed_get(self: KisClient, *args: Any, **kwargs: Any) -> Any:
        seen.calls.append(time.monotonic())
        return get(self, *args, **kwargs)

    def timed_write(*args: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        time.sleep(SLOW_WRITE_S if seen.writes else FIRST_WRITE_S)
        try:
            return writing.write_days(*args, **kwargs)
        finally:
            seen.writes.append((start, time.monotonic()))

    monkeypatch.setattr(KisClient, "get", timed_get)
    monkeypatch.setattr(factory, "write_days", timed_write)
    monkeypatch.setattr(flows_assets, "write_days", timed_write)
    return seen


def _tables(wh: Warehouse) -> dict[str, pl.DataFrame]:
    return {table: wh.read(table).sort(pl.all()) for table in TABLES}


def test_a_run_reads_ahead_and_stores_what_one_asset_a_run_stores(
    wh: Warehouse, timeline: Timeline
) -> None:
    first_step_calls = 0
    for asset in sorted(ASSETS, key=lambda a: a.key.to_user_string()):
        seed.run_assets([asset], partition_range=RANGE)
        first_step_calls = first_step_calls or len(timeline.calls)
    alone = _tables(wh)
    alone_calls = len(timeline.calls)
    timeline.calls.clear()
    timeline.writes.clear()

    result = seed.run_assets(ASSETS, partition_range=RANGE, tags=AHEAD)

    assert all(e.passed for e in seed.check_evaluations(result).values())
    together = _tables(wh)
    for table in TABLES:
        assert together[table].height > 0, table
        assert together[table].equals(alone[table]), table
    # The same calls; the later steps' went out before the first step had written.
    assert len(timeline.calls) == alone_calls
    assert timeline.calls_before_the_first_write_ended() > first_step_calls > 0
    assert not read_ahead._RUNS  # the run's end let its worker go
    for table in TABLES:
        meta = seed.materialization_metadata(result, table)
        assert meta["calls"] > 0, table


def test_a_fetch_that_fails_ahead_fails_its_own_step_only(
    wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The last step in the run's order fails in the worker; its error is its own step's.
    failing = max(TABLES)
    declared = BUILT[failing]

    def refused(scope: read_ahead.RunScope) -> Any:
        raise KisApiError("EGW00123", f"{failing}: refused for the test")

    monkeypatch.setitem(
        read_ahead._PHASES, declared.asset.key, read_ahead._Registered(refused, False)
    )
    result = seed.run_assets(ASSETS, partition_range=RANGE, raise_on_error=False, tags=AHEAD)

    # What `kis-pipeline backfill` prints: the failing step, with the error of its own fetch.
    assert step_errors(result) == [f"{failing}: KIS EGW00123: {failing}: refused for the test"]
    for table in TABLES:
        assert (wh.read(table).height > 0) == (table != failing), table


def test_fetches_not_begun_when_the_run_ends_are_cancelled() -> None:
    started: list[str] = []
    release = threading.Event()

    def blocking(scope: Any) -> str:
        started.append("first")
        release.wait(10)
        return "first"

    def never(scope: Any) -> str:
        started.append("second")
        return "second"

    worker = read_ahead._Worker()
    key_a, key_b = dg.AssetKey("a"), dg.AssetKey("b")
    worker.submit(key_a, blocking, None)  # type: ignore[arg-type]
    worker.submit(key_b, never, None)  # type: ignore[arg-type]
    while not started:
        threading.Event().wait(0.01)
    worker.close()
    release.set()
    worker._thread.join(10)
    assert started == ["first"]
    assert worker.take(key_b) is None


def test_only_runs_whose_steps_run_here_read_ahead(
    wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run the daemon launches runs each step in a process of its own: a worker there would
    fetch for steps it never serves, so only runs tagged by the backfill read ahead."""
    workers: list[object] = []
    worker = read_ahead._Worker

    def counted() -> object:
        workers.append(worker())
        return workers[-1]

    monkeypatch.setattr(read_ahead, "_Worker", counted)
    flows = [investor_flows, market_investor_flows]
    seed.run_assets(flows, partition_range=RANGE)
    assert workers == []
    seed.run_assets(flows, partition_range=RANGE, tags=AHEAD)
    assert len(workers) == 1


def test_the_price_chain_goes_first_while_the_other_families_are_fetched(
    wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a backfill's run of prices and another family, daily_prices runs first (it fetches
    for itself, then checks at length) and its start lets the other be fetched meanwhile."""
    calls: list[tuple[float, str]] = []
    get = KisClient.get

    def timed_get(self: KisClient, path: str, tr_id: str, *args: Any, **kwargs: Any) -> Any:
        calls.append((time.monotonic(), tr_id))
        return get(self, path, tr_id, *args, **kwargs)

    finished: list[float] = []
    finish = price_assets._PriceRun.finish

    def timed_finish(self: Any, *args: Any, **kwargs: Any) -> Any:
        # Checks that take a while, as over a long range: on a loaded machine the other
        # family's first call may need a moment to go out.
        time.sleep(1.0)
        finished.append(time.monotonic())
        return finish(self, *args, **kwargs)

    monkeypatch.setattr(KisClient, "get", timed_get)
    monkeypatch.setattr(price_assets._PriceRun, "finish", timed_finish)
    credit = BUILT["credit_balance"].asset  # a step key that sorts before daily_prices
    result = seed.run_assets([credit, price_assets.daily_prices], partition_range=RANGE, tags=AHEAD)

    started = [
        e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_START
    ]
    assert started == ["daily_prices", "credit_balance"]
    credit_calls = [t for t, tr_id in calls if tr_id != DAILY_CHART_TR_ID]
    assert credit_calls and min(credit_calls) < finished[0]
    assert wh.read("credit_balance").height > 0 and wh.read("daily_prices").height > 0
