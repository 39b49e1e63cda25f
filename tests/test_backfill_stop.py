"""Stopping `kis-pipeline backfill` with Ctrl-C (SIGINT) or SIGTERM: it stops launching runs,
records nothing for the run it interrupted, says how to resume, and exits 130 or 143; the
resumed backfill then completes the range exactly."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from kis_pipeline.cli import dagster_runner as runner
from kis_pipeline.lib.partitions import trading_days as TRADING_DAYS
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs.seed import fast_config, seed
from tests.helpers.simulator import SIM_CONFIG, sim_environ
from tests.warehouse.lake_checks import assert_lake_whole

CONFIG = fast_config(SIM_CONFIG)
MARKET = Market(CONFIG)
SYMBOLS = ",".join(MARKET.listings[i].symbol for i in (0, 3, 5))
RANGE = ("--from", "2023-02-01", "--to", "2023-12-28")


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(CONFIG) as server:
        yield server


def command(*extra: str) -> list[str]:
    return [sys.executable, "-m", "kis_pipeline.cli", "backfill", *RANGE, *extra]


def wait_for(process: subprocess.Popen[str], log: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"no {text!r} in: {log.read_text()}"
        time.sleep(0.1)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_backfill_cleanly_and_missing_resumes_it(
    sim: SimulatorServer, tmp_path: Path, signum: int, code: int
) -> None:
    wh = Warehouse(tmp_path / "wh")
    seed(wh, MARKET)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "DAGSTER_"))},
        **sim_environ(sim, tmp_path / "state", KIS_WAREHOUSE=str(tmp_path / "wh")),
        # Slow enough that the signal lands inside the price run: a log that is no terminal
        # shows the first progress line (what the test waits for) after 10 s, and at 2/s a
        # loaded machine had once finished the run by then.
        "KIS_RATE_LIMIT": "1",
    }
    log = tmp_path / "stderr.txt"
    args = ("--assets", "daily_prices,daily_prices_adjusted", "--symbols", SYMBOLS)
    with log.open("w") as err:
        process = subprocess.Popen(
            command(*args), env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=err, text=True
        )
        try:
            # Inside the price run, once it has made calls.
            wait_for(process, log, "requests", timeout=120)
            process.send_signal(signum)
            out, _ = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    said = log.read_text()
    assert process.returncode == code, said
    assert "Traceback" not in said and "KeyboardInterrupt" not in said
    assert "the step it interrupted recorded nothing" in said
    assert "Resume with: kis-pipeline backfill --from 2023-02-01 --to 2023-12-28" in said
    assert said.rstrip().endswith("--missing")
    # The run it interrupted is shown as failed, never complete, and reports no rows.
    assert "failed, nothing recorded" in said, said
    assert "daily_prices: 0 rows" in out or "daily_prices:" not in out

    # A step records its partitions when it ends: the interrupted one recorded none, and the
    # adjusted prices (the later step) never finished before the signal.
    with runner.open_instance(tmp_path / "wh" / ".dagster") as instance:
        recorded = {
            name: instance.get_materialized_partitions(dg.AssetKey(name))
            for name in ("daily_prices", "daily_prices_adjusted")
        }
    assert recorded["daily_prices_adjusted"] == set()
    sessions = MARKET.trading_days(dt.date(2023, 2, 1), dt.date(2023, 12, 28))
    assert len(recorded["daily_prices"]) in (
        0,
        len(
            runner.partition_keys_in_range(TRADING_DAYS, dt.date(2023, 2, 1), dt.date(2023, 12, 28))
        ),
    )
    # Every file the catalog lists reads whole, and what the killed run wrote but never
    # committed is no part of the lake: maintenance deletes it.
    assert_lake_whole(wh)

    resumed = subprocess.run(
        command(*args, "--missing"),
        env={**env, "KIS_RATE_LIMIT": "1000"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    for table in ("daily_prices", "daily_prices_adjusted"):
        frame = wh.read(table).filter(pl.col("symbol").is_in(SYMBOLS.split(",")))
        assert frame.height == len(sessions) * 3, table
        assert frame.select("date", "symbol").is_duplicated().sum() == 0
