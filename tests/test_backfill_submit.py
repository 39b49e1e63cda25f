"""`kis-pipeline backfill --submit`: the range goes to the Dagster instance as one backfill, a
real `dagster-daemon` runs it, and the warehouse ends up as the in-process mode leaves it.
`--follow` attaches again, Ctrl-C detaches without stopping it, `--cancel` stops it."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from dagster._core.execution.backfill import BulkActionStatus

from kis_pipeline.cli import submitted
from kis_pipeline.cli.backfill_plan import BackfillRequest
from kis_pipeline.cli.main import main
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import TABLES, Warehouse
from tests.defs.seed import point_at, seed
from tests.helpers.daemon import ROOT, running_daemon
from tests.test_backfill import MARKET, SYMBOLS

warnings.filterwarnings("ignore", category=dg.BetaWarning)

SPAN = ("--from", "2026-11-02", "--to", "2026-11-13")
ASSETS = "daily_prices,daily_prices_adjusted,investor_flows"


def rows(warehouse: Path, table: str) -> pl.DataFrame:
    keys = [c for c in ("date", "symbol") if c in TABLES[table].schema]
    return Warehouse(warehouse).read(table).sort(keys)


@pytest.fixture
def instance_home(
    fast_sim: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A seeded warehouse and a Dagster home of its own (the repository's dagster.yaml)."""
    point_at(fast_sim, tmp_path / "wh", tmp_path / "state", monkeypatch)
    seed(Warehouse(tmp_path / "wh"), MARKET)
    home = tmp_path / "dagster"
    home.mkdir()
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("KIS_SYMBOLS", ",".join(SYMBOLS))
    return home


@pytest.fixture
def daemon(instance_home: Path, tmp_path: Path) -> Iterator[Path]:
    with running_daemon(dict(os.environ), tmp_path / "daemon.log"):
        yield tmp_path / "daemon.log"


def test_a_submitted_backfill_runs_in_the_daemon_and_writes_what_an_in_process_one_writes(
    daemon: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["backfill", *SPAN, "--assets", ASSETS, "--submit"]) == 0, daemon.read_text()[
        -3000:
    ]
    said = capsys.readouterr()
    assert "submitted backfill kis" in said.err
    assert "completed_success" in said.out
    assert "daily_prices: 10/10 partitions, 30 rows" in said.out

    instance = dg.DagsterInstance.get()
    backfills = instance.get_backfills()
    assert [b.status for b in backfills] == [BulkActionStatus.COMPLETED_SUCCESS]
    # The daemon's runs did the work (tagged with the backfill), none of this process's.
    runs = instance.get_runs(filters=dg.RunsFilter.for_backfill(backfills[0].backfill_id))
    assert runs and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    assert all(r.tags.get("kis/launcher") is None for r in runs)
    # Backfills of old days are not judged by the clock: no freshness check failed.
    evaluations = [
        entry.dagster_event.event_specific_data  # type: ignore[union-attr]
        for r in runs
        for entry in instance.all_logs(r.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    ]
    assert evaluations
    assert [e.check_name for e in evaluations if not e.passed] == []

    # The same range in this process, into a second warehouse, gives the same rows.
    monkeypatch.setenv("KIS_WAREHOUSE", str(tmp_path / "wh-in-process"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster-in-process"))
    (tmp_path / "dagster-in-process").mkdir()
    shutil.copyfile(ROOT / "dagster.yaml", tmp_path / "dagster-in-process" / "dagster.yaml")
    seed(Warehouse(tmp_path / "wh-in-process"), MARKET)
    assert main(["backfill", *SPAN, "--assets", ASSETS]) == 0
    for table in ASSETS.split(","):
        submitted_rows = rows(tmp_path / "wh", table)
        assert submitted_rows.height > 0
        assert submitted_rows.equals(rows(tmp_path / "wh-in-process", table)), table


def test_ctrl_c_detaches_and_follow_attaches_again(
    daemon: Path, instance_home: Path, tmp_path: Path
) -> None:
    command = [sys.executable, "-W", "ignore", "-m", "kis_pipeline.cli", "backfill", *SPAN]
    command += ["--assets", "daily_prices", "--submit"]
    process = subprocess.Popen(
        command, cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    line = ""
    while "submitted backfill" not in line:
        line = process.stderr.readline()
        assert line or process.poll() is None, process.communicate()
    backfill_id = line.split("submitted backfill ", 1)[1].split(":", 1)[0]
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert f"detached: backfill {backfill_id} goes on" in err
    assert f"--cancel {backfill_id}" in err

    # The daemon carries on; following it again sees it through.
    assert main(["backfill", "--follow", backfill_id]) == 0, daemon.read_text()[-3000:]
    assert len(Warehouse(tmp_path / "wh").partitions("daily_prices")) == 10


def test_cancel_stops_a_submitted_backfill(daemon: Path, instance_home: Path) -> None:
    # Long enough (about a minute) that only the cancel can end it within the test.
    request = BackfillRequest(
        start=dt.date(2024, 1, 2),
        end=dt.date(2026, 11, 13),
        assets=("investor_flows",),
    )
    backfill_id = submitted.new_id()
    submitted.submit(request, backfill_id)

    assert main(["backfill", "--cancel", backfill_id]) == 0
    instance = dg.DagsterInstance.get()
    assert instance.get_backfill(backfill_id).status == BulkActionStatus.CANCELED  # type: ignore[union-attr]
    runs = instance.get_runs(filters=dg.RunsFilter.for_backfill(backfill_id))
    assert all(r.status != dg.DagsterRunStatus.STARTED for r in runs)


def test_without_a_daemon_submit_says_the_backfill_waits_for_one(
    instance_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = BackfillRequest(
        start=dt.date(2026, 11, 2),
        end=dt.date(2026, 11, 13),
        assets=("daily_prices",),
    )
    backfill_id = submitted.new_id()
    submitted.submit(request, backfill_id)

    err = capsys.readouterr().err
    assert f"submitted backfill {backfill_id}" in err
    assert "no Dagster daemon is running backfills on this instance" in err
    assert dg.DagsterInstance.get().get_backfill(backfill_id) is not None

    # Cancelling it marks it so and returns at once, rather than wait for a daemon.
    assert main(["backfill", "--cancel", backfill_id]) == 0
    assert "is marked for cancelling; warning: no Dagster daemon" in capsys.readouterr().err
    held = dg.DagsterInstance.get().get_backfill(backfill_id)
    assert held is not None and held.status == BulkActionStatus.CANCELING


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--follow", "kisnothere"], "no asset backfill kisnothere in the instance"),
        (["--cancel", "kisnothere"], "no asset backfill kisnothere in the instance"),
        (["--cancel", "kis1", *SPAN], "--follow and --cancel take a backfill id only"),
        (["--from", "2026-11-02"], "--from and --to are required"),
    ],
)
def test_a_wrong_backfill_request_is_one_line(
    instance_home: Path, argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backfill", *argv]) in (1, 2)
    err = capsys.readouterr().err
    assert said in err and len(err.strip().splitlines()) == 1, err
