"""A backfill leaves the app secret nowhere: not in what the command prints, not in Dagster's run
storage and event logs, not in its compute logs, not in the warehouse or the state dir."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import dagster as dg

from kis_pipeline.cli import dagster_runner as runner
from kis_pipeline.kis.auth import FileTokenStore
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs.seed import fast_config, fast_environ, seed
from tests.helpers.simulator import SIM_CONFIG, sim_environ
from tests.secret_scan import random_secret, scan

warnings.filterwarnings("ignore", category=dg.BetaWarning)

CONFIG = fast_config(SIM_CONFIG)
MARKET = Market(CONFIG)


def test_a_backfill_leaves_the_secret_in_no_output_event_log_or_compute_log(
    fast_sim: SimulatorServer, tmp_path: Path
) -> None:
    secret = random_secret()
    warehouse = tmp_path / "wh"
    environ = fast_environ(
        sim_environ(
            fast_sim, tmp_path / "state", KIS_WAREHOUSE=str(warehouse), KIS_APP_SECRET=secret
        )
    )
    seed(Warehouse(warehouse), MARKET)
    day = MARKET.last_completed_session()
    start = MARKET.trading_days(day - dt.timedelta(days=10), day)[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "DAGSTER_"))}
    command = [sys.executable, "-m", "kis_pipeline.cli", "--debug", "backfill"]
    command += ["--from", start.isoformat(), "--to", day.isoformat(), "--assets", "daily_prices"]
    command += ["--symbols", MARKET.listings[0].symbol]
    # --debug: every debug line, HTTP requests included, reaches the output and compute logs.
    done = subprocess.run(
        command,
        env={**env, **environ},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    output = {"stdout": done.stdout, "stderr": done.stderr}
    assert "HTTP Request: GET" in done.stderr  # the debug log did reach the output

    result = scan(secret, roots=[tmp_path], texts=output)
    assert result.found == []
    # The access token may live in the token file only.
    settings = KisSettings.from_env(environ)
    token_file = FileTokenStore(settings.state_dir, settings.key_id).path
    token = json.loads(token_file.read_text())["access"]["value"]
    assert scan(token, roots=[tmp_path], texts=output, skip=[token_file]).found == []

    # The scan read what it claims to: run storage, event logs and non-empty compute logs.
    home = warehouse / ".dagster"
    scanned = [p.relative_to(home) for p in result.files if p.is_relative_to(home)]
    assert Path("history/runs.db") in scanned
    assert any(p.parent == Path("history/runs") and p.name != "index.db" for p in scanned)
    compute_logs = [home / p for p in scanned if p.parent.name == "compute_logs"]
    assert any(p.suffix == ".err" and p.stat().st_size > 0 for p in compute_logs)

    # A secret that reached Dagster's event log would be found there.
    with runner.open_instance(home) as instance:
        [run] = instance.get_runs(limit=1)
        instance.report_engine_event(f"leaked {secret}", run)
    assert any("history" in found for found in scan(secret, roots=[home]).found)
