"""`KIS_EXECUTOR=celery` on real servers: a run of `daily_prices_job` on the team instance
(`docs/deploy/dagster.yaml`, PostgreSQL) sends its steps to a `dagster-celery` worker in
another process over Redis, and the warehouse ends up as a run in this process leaves it.

`bash .ci/run` (or `.ci/services start`) starts PostgreSQL and Redis; the `pg_dsn` and
`redis_url` fixtures skip the test without them.
"""

from __future__ import annotations

import re
import shutil
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs.seed import point_at, seed
from tests.helpers import celery_jobs
from tests.helpers.celery_worker import broker_config, running_worker
from tests.integration.test_dagster_postgres import PROFILE, _url
from tests.test_backfill import MARKET, SYMBOLS

pytestmark = pytest.mark.services
warnings.filterwarnings("ignore", category=dg.BetaWarning)

RANGE = {ASSET_PARTITION_RANGE_START_TAG: "2026-11-02", ASSET_PARTITION_RANGE_END_TAG: "2026-11-13"}


@pytest.fixture
def team(
    pg_dsn: str,
    redis_url: str,
    fast_sim: SimulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Path]:
    """The team's environment in this process, and one celery worker sharing it."""
    point_at(fast_sim, tmp_path / "wh", tmp_path / "state", monkeypatch)
    seed(Warehouse(tmp_path / "wh"), MARKET)
    home = tmp_path / "dagster"
    home.mkdir()
    shutil.copyfile(PROFILE, home / "dagster.yaml")
    broker = redis_url  # a database of this pytest worker's own, emptied around the test
    for name, value in {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_URL": _url(pg_dsn),
        "KIS_EXECUTOR": "celery",
        "KIS_CELERY_BROKER": broker,
        "KIS_SYMBOLS": ",".join(SYMBOLS),
    }.items():
        monkeypatch.setenv(name, value)
    config = broker_config(tmp_path / "celery.yaml", broker)
    with running_worker(config, {}, tmp_path / "worker.log"):
        yield tmp_path


def test_a_run_on_celery_executes_its_steps_in_the_worker(team: Path) -> None:
    instance = dg.DagsterInstance.get()
    recon = dg.reconstructable(celery_jobs.daily_prices_job)
    with dg.execute_job(recon, instance=instance, tags=RANGE) as result:
        assert result.success, (team / "worker.log").read_text()[-3000:]
        run_id = result.run_id
    starts = [
        record for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)
    ]
    assert {"daily_prices", "daily_prices_adjusted"} <= {r.step_key for r in starts}
    # The worker executed every step: its log has one finished task per step (its pool
    # processes may be gone by now, so their pids prove nothing).
    # The worker logs a task's end after its result reached the backend: wait for the lines.
    deadline = time.monotonic() + 60
    while True:
        worker_log = (team / "worker.log").read_text()
        done = re.findall(r"Task execute_plan\[[^\]]+\] succeeded", worker_log)
        if len(done) >= len(starts) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(done) == len(starts), worker_log[-3000:]

    celery_rows = Warehouse(team / "wh").read("daily_prices").sort("date", "symbol")
    assert celery_rows.height == 10 * len(SYMBOLS)
    assert set(celery_rows["symbol"]) == set(SYMBOLS)
    assert celery_rows.filter(pl.col("close") <= 0).is_empty()
