"""Two processes with one app key share its request budget and its token through KIS_STATE_DIR.

The processes (`tests.integration.hammer`) hammer the current-price endpoint for a few seconds
as fast as their clients let them; the simulator counts what it served and rejected per key.

The negative control changes one thing, the state directory: each process then has a limiter
of its own, together they send about twice the limit, and the simulator must reject some
requests. That shows the positive test can fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kis_pipeline.simulator.server import SimulatorServer
from tests.helpers.simulator import sim_environ
from tests.integration.hammer import (
    CLIENT_RATE,
    CONFIG,
    SERVER_LIMIT,
    assert_ran_together,
    key_stats,
    run_workers,
)

WORKERS = 2


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(CONFIG) as sim:
        yield sim


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
