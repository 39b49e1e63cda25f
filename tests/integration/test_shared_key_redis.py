"""Workers on several hosts share one app key's limit and token through Redis (KIS_STATE_URL).

Each worker process has an empty `KIS_STATE_DIR` of its own, as a worker on another host
would: Redis is all they share. Without it they overrun the limit, as the negative control of
`test_shared_key_sim` shows; here they must stay within it in every one-second window of the
simulator's count, with one token issued for all of them. A Redis restart mid-run (its state
gone) must not let a burst through, and a Redis that cannot be reached must stop every request
with one line naming KIS_STATE_URL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints import fetch_current_price
from kis_pipeline.kis.errors import StateStoreUnavailable
from kis_pipeline.kis.redis_state import RedisRateLimiter, RedisState
from kis_pipeline.kis.settings import KisSettings
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
from tests.secret_scan import random_secret
from tests.services import RedisProcess, free_port

WORKERS = 4
RESTART_RUN_S = 5.0


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(CONFIG) as sim:
        yield sim


def hosts(server: SimulatorServer, tmp_path: Path, state_url: str) -> list[dict[str, str]]:
    """One app key, one Redis, and a state dir of its own per worker."""
    environ = sim_environ(server, tmp_path / "host-0", KIS_RATE_LIMIT=CLIENT_RATE)
    environ["KIS_STATE_URL"] = state_url
    return [{**environ, "KIS_STATE_DIR": str(tmp_path / f"host-{i}")} for i in range(WORKERS)]


def assert_within_the_limit(stats: dict[str, Any], reports: list[dict[str, Any]]) -> None:
    assert stats["rejected"] == 0, stats
    assert stats["max_in_any_1s_window"] <= SERVER_LIMIT, stats
    assert stats["served"] == sum(r["calls"] for r in reports)
    assert all(r["errors"] == 0 and r["retries"] == 0 for r in reports), reports


def test_four_workers_sharing_only_redis_stay_within_the_limit_with_one_token(
    server: SimulatorServer, redis_url: str, tmp_path: Path
) -> None:
    environs = hosts(server, tmp_path, redis_url)

    reports = run_workers(environs, stagger_tokens=False)

    assert_ran_together(reports)
    stats = key_stats(server, environs[0])
    assert_within_the_limit(stats, reports)
    # All four asked for a token at once: one was issued, under the Redis lock, for them all.
    assert stats["tokens_issued"] == 1 and stats["tokens_reused"] == 0, stats
    assert sum(r["token_issues"] for r in reports) == 1, reports
    # Nothing was kept on the "hosts": the limit and the token live in Redis only.
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_a_redis_restart_mid_run_lets_no_burst_through(
    server: SimulatorServer, redis_server: RedisProcess, tmp_path: Path
) -> None:
    environs = hosts(server, tmp_path, redis_server.url)
    app_key = environs[0]["KIS_APP_KEY"]
    served_at_restart: list[int] = []

    def restart_once_under_way() -> None:
        while server.stats()["rest"].get(app_key, {}).get("served", 0) < SERVER_LIMIT:
            time.sleep(0.05)
        served_at_restart.append(server.stats()["rest"][app_key]["served"])
        # Killed, not shut down: its state is gone, while the workers still hold slots it
        # granted. Back at once, so those slots are still pending when they reconnect.
        redis_server.kill()
        redis_server.start()

    reports = run_workers(
        environs, stagger_tokens=False, run_s=RESTART_RUN_S, meanwhile=restart_once_under_way
    )

    assert_ran_together(reports, RESTART_RUN_S)
    stats = key_stats(server, environs[0])
    assert_within_the_limit(stats, reports)
    # The workers went on through the restart, on the limit kept by the new server.
    assert stats["served"] >= served_at_restart[0] + SERVER_LIMIT, (stats, served_at_restart)
    key_id = KisSettings.from_env(environs[0]).key_id
    assert redis.Redis.from_url(redis_server.url).exists(f"kis-pipeline:{key_id}:gcra")


def test_redis_gone_for_longer_than_a_restart_stops_requests_with_one_line(
    redis_server: RedisProcess,
) -> None:
    state = RedisState(redis_server.url, outage_s=1.0)
    limiter = RedisRateLimiter(state, "key", rate=1000.0)
    limiter.acquire()
    redis_server.kill()

    with pytest.raises(StateStoreUnavailable) as raised:
        limiter.acquire()

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"lost Redis at KIS_STATE_URL={redis_server.url} (")


def test_an_unreachable_redis_sends_no_request_and_says_so_in_one_line(
    sim_server: SimulatorServer, tmp_path: Path
) -> None:
    port = free_port()
    url = f"redis://:sesame@127.0.0.1:{port}/0"
    environ = sim_environ(sim_server, tmp_path / "state", KIS_STATE_URL=url)
    settings = KisSettings.from_env(environ)

    with KisClient(settings) as client, pytest.raises(StateStoreUnavailable) as raised:
        fetch_current_price(client, "005930")

    assert str(raised.value) == (
        f"cannot reach Redis at KIS_STATE_URL=redis://:***@127.0.0.1:{port}/0 "
        "(connection refused); start it or correct KIS_STATE_URL. No request goes to KIS "
        "without the shared rate limit"
    )
    # Not even the token: nothing reached the simulator for this key.
    stats = sim_server.stats()
    assert environ["KIS_APP_KEY"] not in stats["rest"]
    assert environ["KIS_APP_KEY"] not in stats["tokens_issued"]


def test_tokens_and_approval_keys_are_issued_once_for_all_hosts_and_redis_holds_no_secret(
    sim_server: SimulatorServer, redis_url: str, tmp_path: Path
) -> None:
    secret = random_secret()
    environ = sim_environ(sim_server, tmp_path, KIS_APP_SECRET=secret, KIS_STATE_URL=redis_url)
    machines = [KisSettings.from_env({**environ, "KIS_STATE_DIR": str(tmp_path / h)}) for h in "ab"]

    with KisClient(machines[0]) as first, KisClient(machines[1]) as second:
        for client in (first, second):
            fetch_current_price(client, "005930")
        assert first.approval_key() == second.approval_key()

    app_key = environ["KIS_APP_KEY"]
    stats = sim_server.stats()
    assert stats["tokens_issued"][app_key] == 1
    assert stats["approval_keys_issued"][app_key] == 1
    # What Redis holds: the limiter and the tokens, under a hash of the key; never a secret.
    db = redis.Redis.from_url(redis_url)
    prefix = f"kis-pipeline:{machines[0].key_id}"
    assert sorted(db.keys()) == [f"{prefix}:gcra".encode(), f"{prefix}:tokens".encode()]
    held = b"".join([*db.hgetall(f"{prefix}:gcra").values(), db.get(f"{prefix}:tokens") or b""])
    assert b'"approval"' in held and b'"access"' in held
    for value in (secret, app_key):
        assert value.encode() not in held
