"""Two processes with one app key share its request budget and its token through KIS_STATE_DIR.

Each process is started with `spawn` (a fresh interpreter, as two CLI runs or two Dagster
workers would be) and hammers the current-price endpoint for a few seconds as fast as its
client lets it. The simulator counts per app key what it served and rejected and the most
requests it served in any one-second window.

The negative control changes one thing, the state directory: each process then has a limiter
of its own, together they send about twice the limit, and the simulator must reject some
requests. That shows the positive test can fail.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints import fetch_current_price
from kis_pipeline.kis.errors import KisError
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.server import SimulatorServer
from tests.conftest import SIM_NOW, sim_environ

SERVER_LIMIT = 10.0
CLIENT_RATE = "9.5"
RUN_S = 3.0
WORKERS = 2
# The negative control issues its two tokens one after the other: the token endpoint takes
# one call a second per app key.
TOKEN_STAGGER_S = 1.3
CONFIG = SimConfig(
    seed=3,
    universe=5,
    start=dt.date(2026, 1, 2),
    now=SIM_NOW,
    rate_limit=SERVER_LIMIT,
    token_issue_interval_s=0.5,
)


def hammer(
    environ: dict[str, str],
    index: int,
    stagger_tokens: bool,
    barrier: Any,
    results: Any,
) -> None:
    """One process: fetch quotes for RUN_S seconds once both processes are ready."""
    settings = KisSettings.from_env(environ)
    calls = errors = 0
    with KisClient(settings, backoff_base_s=0.02, max_attempts=4) as client:
        barrier.wait()
        if stagger_tokens:
            time.sleep(index * TOKEN_STAGGER_S)
            fetch_current_price(client, "005930")
            calls += 1
            barrier.wait()
        started = time.time()
        deadline = time.monotonic() + RUN_S
        while time.monotonic() < deadline:
            try:
                fetch_current_price(client, "005930")
                calls += 1
            except KisError:
                errors += 1
        finished = time.time()
        stats = client.stats.snapshot()
    results.put(
        {
            "index": index,
            "calls": calls,
            "errors": errors,
            "retries": stats["retries"],
            "token_issues": stats["token_issues"],
            "started": started,
            "finished": finished,
        }
    )


def run_workers(environs: list[dict[str, str]], *, stagger_tokens: bool) -> list[dict[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(environs), timeout=60)
    results = ctx.Queue()
    processes = [
        ctx.Process(target=hammer, args=(env, i, stagger_tokens, barrier, results))
        for i, env in enumerate(environs)
    ]
    for process in processes:
        process.start()
    try:
        reports = [results.get(timeout=60) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    assert [p.exitcode for p in processes] == [0] * len(processes)
    return sorted(reports, key=lambda r: r["index"])


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(CONFIG) as sim:
        yield sim


def key_stats(server: SimulatorServer, environ: dict[str, str]) -> dict[str, Any]:
    stats = server.stats()
    app_key = environ["KIS_APP_KEY"]
    return {
        **stats["rest"][app_key],
        "tokens_issued": stats["tokens_issued"].get(app_key, 0),
        "tokens_reused": stats["tokens_reused"].get(app_key, 0),
    }


def assert_ran_together(reports: list[dict[str, Any]]) -> None:
    """Both processes sent requests during the same seconds (else nothing was shared)."""
    overlap = min(r["finished"] for r in reports) - max(r["started"] for r in reports)
    assert overlap > RUN_S * 0.8, f"the processes overlapped only {overlap:.2f} s"
    assert all(r["calls"] >= 5 for r in reports), reports


def test_two_processes_with_one_key_and_state_dir_stay_within_the_limit(
    server: SimulatorServer, tmp_path: Path
) -> None:
    environ = sim_environ(server, tmp_path / "state", KIS_RATE_LIMIT=CLIENT_RATE)

    reports = run_workers([environ] * WORKERS, stagger_tokens=False)

    assert_ran_together(reports)
    stats = key_stats(server, environ)
    assert stats["rejected"] == 0, stats
    assert stats["max_in_any_1s_window"] <= SERVER_LIMIT, stats
    assert stats["served"] == sum(r["calls"] for r in reports)
    assert all(r["errors"] == 0 and r["retries"] == 0 for r in reports), reports
    # Both started at once; one token was issued for the key and shared through the store.
    assert stats["tokens_issued"] == 1 and stats["tokens_reused"] == 0, stats
    assert sum(r["token_issues"] for r in reports) == 1, reports
    assert len(list((tmp_path / "state").glob("tokens-*.json"))) == 1


def test_negative_control_separate_state_dirs_overrun_the_limit(
    server: SimulatorServer, tmp_path: Path
) -> None:
    environ = sim_environ(server, tmp_path / "state-0", KIS_RATE_LIMIT=CLIENT_RATE)
    environs = [environ, {**environ, "KIS_STATE_DIR": str(tmp_path / "state-1")}]

    reports = run_workers(environs, stagger_tokens=True)

    assert_ran_together(reports)
    stats = key_stats(server, environ)
    # Each process paces itself to 9.5/s but neither knows of the other: 19/s against 10/s.
    assert stats["rejected"] > 0, stats
    assert sum(r["retries"] for r in reports) > 0, reports
    # Each process fetched its own token (the simulator hands the second the same one).
    assert [r["token_issues"] for r in reports] == [1, 1], reports
