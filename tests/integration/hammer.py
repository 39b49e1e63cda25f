"""Worker processes that hammer one simulator with one app key, and what the simulator saw.

Each process is started with `spawn` (a fresh interpreter, as a CLI run, a Dagster worker or
another host would be) and fetches the current price for `RUN_S` seconds as fast as its client
lets it. The simulator counts per app key what it served and rejected, and the most requests
it served in any one-second window.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import time
from collections.abc import Callable
from typing import Any

from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints import fetch_current_price
from kis_pipeline.kis.errors import KisError
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.server import SimulatorServer
from tests.helpers.simulator import SIM_NOW

SERVER_LIMIT = 10.0
CLIENT_RATE = "9.5"
RUN_S = 3.0
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
    run_s: float = RUN_S,
) -> None:
    """One process: fetch quotes for `run_s` seconds once every process is ready."""
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
        deadline = time.monotonic() + run_s
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


def run_workers(
    environs: list[dict[str, str]],
    *,
    stagger_tokens: bool,
    run_s: float = RUN_S,
    meanwhile: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """Run one `hammer` process per environment; `meanwhile` runs here while they work."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(environs), timeout=60)
    results = ctx.Queue()
    processes = [
        ctx.Process(target=hammer, args=(env, i, stagger_tokens, barrier, results, run_s))
        for i, env in enumerate(environs)
    ]
    for process in processes:
        process.start()
    try:
        if meanwhile is not None:
            meanwhile()
        reports = [results.get(timeout=60 + run_s) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    assert [p.exitcode for p in processes] == [0] * len(processes)
    return sorted(reports, key=lambda r: r["index"])


def key_stats(server: SimulatorServer, environ: dict[str, str]) -> dict[str, Any]:
    stats = server.stats()
    app_key = environ["KIS_APP_KEY"]
    return {
        **stats["rest"][app_key],
        "tokens_issued": stats["tokens_issued"].get(app_key, 0),
        "tokens_reused": stats["tokens_reused"].get(app_key, 0),
        "approval_keys_issued": stats["approval_keys_issued"].get(app_key, 0),
    }


def assert_ran_together(reports: list[dict[str, Any]], run_s: float = RUN_S) -> None:
    """The processes sent requests during the same seconds (else nothing was shared)."""
    overlap = min(r["finished"] for r in reports) - max(r["started"] for r in reports)
    assert overlap > run_s * 0.8, f"the processes overlapped only {overlap:.2f} s"
    assert all(r["calls"] >= 5 for r in reports), reports
