"""The team profile of the Dagster instance (`docs/deploy/dagster.yaml`) on a real PostgreSQL
server: a backfill records its runs and partitions there, a second process sees them, and
`--missing` reads them back and makes no call.

`bash .ci/run` (or `.ci/services start`) starts PostgreSQL; the `pg_dsn` fixture gives the test
a database of its own and skips it without the server.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import dagster as dg
import pytest
from psycopg import conninfo

from kis_pipeline.cli.main import main
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs.seed import point_at, seed, served
from tests.test_backfill import MARKET, SYMBOLS

pytestmark = pytest.mark.services
warnings.filterwarnings("ignore", category=dg.BetaWarning)

PROFILE = Path(__file__).parents[2] / "docs" / "deploy" / "dagster.yaml"
SPAN = ("--from", "2026-11-02", "--to", "2026-11-13")


def _url(dsn: str) -> str:
    """The DSN as the URL Dagster's `postgres_url` takes (its storage speaks psycopg2)."""
    parts = conninfo.conninfo_to_dict(dsn)
    auth = str(parts.get("user", ""))
    if parts.get("password"):
        auth += f":{parts['password']}"
    host = f"{parts.get('host', '127.0.0.1')}:{parts.get('port', 5432)}"
    return f"postgresql+psycopg2://{auth}@{host}/{parts['dbname']}"


def test_a_backfill_keeps_its_history_in_postgres(
    pg_dsn: str,
    fast_sim: SimulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = point_at(fast_sim, tmp_path / "wh", tmp_path / "state", monkeypatch)
    seed(Warehouse(tmp_path / "wh"), MARKET)
    home = tmp_path / "dagster"
    home.mkdir()
    shutil.copyfile(PROFILE, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_URL", _url(pg_dsn))
    symbols = ",".join(SYMBOLS)

    assert main(["backfill", *SPAN, "--assets", "daily_prices", "--symbols", symbols]) == 0
    calls = served(fast_sim, env["KIS_APP_KEY"])
    assert calls > 0

    # Another process (a webserver, a worker on another host) reads the same history.
    script = (
        "import dagster as dg; i = dg.DagsterInstance.get(); "
        "print(type(i.run_storage).__name__, type(i.run_coordinator).__name__, "
        "len(i.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.SUCCESS]))), "
        "len(i.get_materialized_partitions(dg.AssetKey('daily_prices'))))"
    )
    seen = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split()
    assert seen[:2] == ["PostgresRunStorage", "QueuedRunCoordinator"]
    assert int(seen[2]) >= 1
    assert int(seen[3]) == 10  # the weekdays of the two weeks

    # Nothing is stored under the warehouse's own Dagster folder: the profile is the instance.
    assert not (tmp_path / "wh" / ".dagster").exists()
    again = ["backfill", *SPAN, "--assets", "daily_prices", "--symbols", symbols, "--missing"]
    assert main(again) == 0
    assert served(fast_sim, env["KIS_APP_KEY"]) == calls
