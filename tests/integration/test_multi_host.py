"""Several hosts, one app key: a backfill submitted to the team's Dagster instance runs on the
daemon's host and two celery workers, and the warehouse is what one machine would write.

Each "host" is a process with an empty `KIS_STATE_DIR` of its own, so they share no local file:
only Redis (the limiter and the token, `KIS_STATE_URL`; the celery broker, in another database),
PostgreSQL (Dagster's storage and the lake's catalog) and the object store (the lake's data).
Against one simulator with a real limit, the backfill must get no EGW00201, never exceed the
limit in any one-second window, and issue one token; a Redis restart in the middle (its state
gone) must change none of that, nor the warehouse.
"""

from __future__ import annotations

import shutil
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import pytest

from kis_pipeline.cli.main import main
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import TABLES, Warehouse
from tests.defs.seed import fast_config, seed
from tests.helpers.celery_worker import broker_config, running_worker
from tests.helpers.daemon import running_daemon
from tests.helpers.simulator import SIM_CONFIG, sim_environ
from tests.integration.test_dagster_postgres import PROFILE, _url
from tests.services import RedisProcess, S3Bucket
from tests.test_backfill import MARKET

pytestmark = pytest.mark.services
warnings.filterwarnings("ignore", category=dg.BetaWarning)

SERVER_LIMIT = 5.0
CLIENT_RATE = "4.75"
CONFIG = fast_config(SIM_CONFIG, rate_limit=SERVER_LIMIT)
SYMBOLS = [listing.symbol for listing in MARKET.listings[:8]]
SPAN = ("--from", "2026-11-02", "--to", "2026-11-13")
ASSETS = (
    "daily_prices",
    "daily_prices_adjusted",
    "investor_flows",
    "short_sales",
    "credit_balance",
    "program_trading",
)
WORKERS = 2


@pytest.fixture(scope="module")
def limited_sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(CONFIG) as server:
        yield server


@dataclass
class Team:
    root: Path
    common: dict[str, str]  # what every host is given alike

    def host(self, name: str) -> dict[str, str]:
        """A host's environment: the common variables, a state dir and Dagster home of its own."""
        home = self.root / name / "dagster"
        home.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PROFILE, home / "dagster.yaml")
        return {
            **self.common,
            "KIS_STATE_DIR": str(self.root / name / "state"),
            "DAGSTER_HOME": str(home),
        }

    def local_limits_and_tokens(self) -> list[Path]:
        """Limiter and token files in the hosts' state dirs: none, they live in Redis. (Each
        host keeps its own cache of fetched chart windows there.)"""
        return [
            path
            for pattern in ("*/state/ratelimit-*", "*/state/tokens-*")
            for path in self.root.glob(pattern)
        ]


def team_variables() -> list[str]:
    """The variables every host is given (besides the app key and the simulator's URLs)."""
    return [
        "KIS_STATE_URL",
        "KIS_EXECUTOR",
        "DAGSTER_PG_URL",
        "DAGSTER_HOME",
        "KIS_WAREHOUSE",
        "KIS_CATALOG",
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "KIS_STATE_DIR",
    ]


def team_environment(
    root: Path,
    server: SimulatorServer,
    state_url: str,
    broker: str,
    pg_dsn: str,
    bucket: S3Bucket,
) -> Team:
    common = sim_environ(server, root / "unused", KIS_RATE_LIMIT=CLIENT_RATE)
    common.pop("KIS_STATE_DIR")
    common.update(
        {
            "KIS_STATE_URL": state_url,
            "KIS_EXECUTOR": "celery",
            "KIS_CELERY_BROKER": broker,
            "DAGSTER_PG_URL": _url(pg_dsn),
            "KIS_WAREHOUSE": f"{bucket.url}/lake/",
            "KIS_CATALOG": f"postgres:{pg_dsn}",
            "AWS_ENDPOINT_URL": bucket.endpoint,
            "AWS_ACCESS_KEY_ID": bucket.access_key_id,
            "AWS_SECRET_ACCESS_KEY": bucket.secret_access_key,
            "AWS_REGION": bucket.region,
            "KIS_SYMBOLS": ",".join(SYMBOLS),
        }
    )
    return Team(root, common)


def backfill_as_a_team(
    team: Team, monkeypatch: pytest.MonkeyPatch, *, meanwhile: Any = None
) -> None:
    """Seed the lake, start the daemon's host and the workers, submit the backfill from a
    fourth host and follow it to its end."""
    for name, value in team.host("submitter").items():
        monkeypatch.setenv(name, value)
    seed(lake(), MARKET)
    config = broker_config(team.root / "celery.yaml", team.common["KIS_CELERY_BROKER"])
    with ExitStack() as hosts:
        for i in range(WORKERS):
            log = team.root / f"worker-{i}.log"
            hosts.enter_context(running_worker(config, team.host(f"worker-{i}"), log))
        hosts.enter_context(running_daemon(team.host("daemon"), team.root / "daemon.log"))
        side = threading.Thread(target=meanwhile, daemon=True) if meanwhile else None
        if side is not None:
            side.start()
        code = main(["backfill", *SPAN, "--assets", ",".join(ASSETS), "--submit"])
        if side is not None:
            side.join(timeout=60)
    assert code == 0, (team.root / "daemon.log").read_text()[-3000:]
    # Both workers executed steps: the work was spread over the hosts.
    for i in range(WORKERS):
        assert "succeeded" in (team.root / f"worker-{i}.log").read_text(), f"worker {i} idle"


def broker_db(state_url: str) -> str:
    """The celery broker beside the shared state: the same server, a database 8 numbers on
    (this pytest worker's too), emptied first."""
    import redis

    base, db = state_url.rsplit("/", 1)
    url = f"{base}/{int(db) + 8}"
    redis.Redis.from_url(url).flushdb()
    return url


def lake() -> Warehouse:
    from kis_pipeline.defs.backend import open_warehouse
    from kis_pipeline.kis.settings import KisSettings

    return open_warehouse(KisSettings.from_env())


def tables(warehouse: Warehouse) -> dict[str, pl.DataFrame]:
    frames = {}
    for table in ASSETS:
        keys = [c for c in ("date", "symbol") if c in TABLES[table].schema]
        frames[table] = warehouse.read(table).sort(keys)
    return frames


def assert_as_one_machine_writes(
    server: SimulatorServer, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The team's lake holds, row for row, what the same backfill writes on one machine:
    local files, in process, the default executor."""
    on_the_team = tables(lake())
    for name in ("KIS_STATE_URL", "KIS_EXECUTOR", "KIS_CATALOG", "DAGSTER_PG_URL", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    alone = sim_environ(server, root / "state", KIS_RATE_LIMIT=CLIENT_RATE)
    for name, value in {**alone, "KIS_WAREHOUSE": str(root / "wh")}.items():
        monkeypatch.setenv(name, value)
    seed(Warehouse(root / "wh"), MARKET)
    assert main(["backfill", *SPAN, "--assets", ",".join(ASSETS)]) == 0
    for table, frame in tables(Warehouse(root / "wh")).items():
        assert frame.height > 0, table
        assert on_the_team[table].equals(frame), table


def assert_within_the_limit(server: SimulatorServer, app_key: str) -> dict[str, Any]:
    stats = server.stats()
    rest = stats["rest"][app_key]
    assert rest["rejected"] == 0, rest  # no EGW00201
    assert rest["max_in_any_1s_window"] <= SERVER_LIMIT, rest
    assert rest["served"] >= 40, rest  # enough calls for the windows to mean something
    return {**rest, "tokens_issued": stats["tokens_issued"].get(app_key, 0)}


def test_hosts_sharing_only_the_servers_backfill_within_the_limit_with_one_token(
    limited_sim: SimulatorServer,
    redis_url: str,
    pg_dsn: str,
    s3_endpoint: S3Bucket,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    team = team_environment(
        tmp_path / "team", limited_sim, redis_url, broker_db(redis_url), pg_dsn, s3_endpoint
    )

    backfill_as_a_team(team, monkeypatch)

    stats = assert_within_the_limit(limited_sim, team.common["KIS_APP_KEY"])
    assert stats["tokens_issued"] == 1, stats
    assert team.local_limits_and_tokens() == []
    assert_as_one_machine_writes(limited_sim, tmp_path / "alone", monkeypatch)


def test_a_redis_restart_mid_backfill_changes_nothing(
    limited_sim: SimulatorServer,
    redis_server: RedisProcess,
    redis_url: str,
    pg_dsn: str,
    s3_endpoint: S3Bucket,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The shared state on a Redis of the test's own, which it kills (its state gone) and starts
    # again while the backfill runs; the celery broker stays on the shared server.
    team = team_environment(
        tmp_path / "team", limited_sim, redis_server.url, broker_db(redis_url), pg_dsn, s3_endpoint
    )
    app_key = team.common["KIS_APP_KEY"]
    restarted_at: list[int] = []

    def restart_once_under_way() -> None:
        deadline = time.monotonic() + 240
        while limited_sim.stats()["rest"].get(app_key, {}).get("served", 0) < 20:
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        redis_server.kill()
        redis_server.start()
        restarted_at.append(limited_sim.stats()["rest"][app_key]["served"])

    backfill_as_a_team(team, monkeypatch, meanwhile=restart_once_under_way)

    stats = assert_within_the_limit(limited_sim, app_key)
    assert restarted_at and stats["served"] > restarted_at[0], (stats, restarted_at)
    assert_as_one_machine_writes(limited_sim, tmp_path / "alone", monkeypatch)
