"""`KIS_EXECUTOR=celery` on real servers: a run of `daily_prices_job` on the team instance
(`docs/deploy/dagster.yaml`, PostgreSQL) sends its steps to a `dagster-celery` worker in
another process over Redis, and the warehouse ends up as a run in this process leaves it.

`bash .ci/run` (or `.ci/services start`) starts PostgreSQL and Redis; the `pg_dsn` and
`redis_url` fixtures skip the test without them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
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
from tests.helpers.processes import stop_group
from tests.integration.test_dagster_postgres import PROFILE, _url
from tests.test_backfill import MARKET, SYMBOLS

pytestmark = pytest.mark.services
warnings.filterwarnings("ignore", category=dg.BetaWarning)

ROOT = Path(__file__).parents[2]
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
    config = tmp_path / "celery.yaml"
    config.write_text(f"execution:\n  config:\n    broker: {broker}\n    backend: {broker}\n")
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-celery"), "worker", "start",
         "-A", "dagster_celery.app", "-y", str(config),
         "--name", f"kis-test-{uuid.uuid4().hex[:8]}", "-l", "INFO"],
        # `dagster-celery` starts `celery` from PATH: the one beside this interpreter.
        env={
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        },
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        # `dagster-celery` runs `celery` as a child: the group is stopped as one.
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while b"ready" not in (tmp_path / "worker.log").read_bytes():
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the celery worker did not start in 90 s"
            time.sleep(0.5)
        yield tmp_path
    finally:
        stop_group(worker, 30)
        log.close()


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
