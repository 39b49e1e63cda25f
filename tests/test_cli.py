"""The `kis-pipeline` command as a person runs it: one clear line for bad input, no traceback."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from kis_pipeline.cli.main import main
from kis_pipeline.simulator.market import Market
from kis_pipeline.warehouse import Warehouse
from tests.defs.seed import seed_symbols
from tests.helpers.simulator import SIM_CONFIG
from tests.services import free_port

EXE = [sys.executable, "-m", "kis_pipeline.cli"]


def test_sim_serves_rest_and_websocket_and_prints_its_urls(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*EXE, "sim", "--rest-port", "0", "--ws-port", "0", "--universe", "20", "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        rest_line = proc.stdout.readline()
        ws_line = proc.stdout.readline()
        assert rest_line.startswith("KIS simulator REST"), (
            rest_line + proc.stderr.read() if proc.stderr else ""
        )
        rest_url = rest_line.split()[-1]
        assert ws_line.split()[-1].startswith("ws://127.0.0.1:")
        with urllib.request.urlopen(f"{rest_url}/sim/stats", timeout=10) as answer:
            assert answer.status == 200
            assert isinstance(json.load(answer), dict)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    # Stopped by SIGTERM, as a shell reports it: 128 + 15.
    assert proc.returncode == 143


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sim", "--faults", "http501=0.1"], "unknown fault 'http501'"),
        (["sim", "--universe", "99999"], "--universe must be between 1 and 2700"),
        (["sim", "--faults", "latency_ms=fast"], "fault 'latency_ms' needs a number"),
    ],
)
def test_bad_simulator_options_get_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_bad_dates_are_rejected_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["backfill", "--from", "2024-13-01", "--to", "2024-12-31"])
    assert "'2024-13-01' is not a date (YYYY-MM-DD)" in capsys.readouterr().err


def test_an_unknown_feed_is_one_line_naming_the_valid_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["stream", "--duration", "2", "--feeds", "trades,ticks"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: unknown feed(s) ticks; valid feeds: trades, quotes, expected, market_status, "
        "program (e.g. --feeds trades,quotes)"
    ]


def stream_for(tmp_path: Path, *args: str) -> tuple[dict[str, str], str]:
    """`kis-pipeline stream --persist ARGS` on an embedded simulator and a warehouse of its
    own: the environment to read that warehouse with, and what the command printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIS_")}
    env |= {"KIS_WAREHOUSE": str(tmp_path / "wh"), "KIS_STATE_DIR": str(tmp_path / "state")}
    streamed = subprocess.run(
        [*EXE, "stream", *args, "--persist"], capture_output=True, text=True, env=env, timeout=120
    )
    assert streamed.returncode == 0, streamed.stderr
    return env, streamed.stdout


def test_stream_feeds_choose_what_is_collected(tmp_path: Path) -> None:
    """Expected executions and market status, through the one entry point."""
    feeds = ("--feeds", "expected,market_status")
    env, printed = stream_for(tmp_path, "--duration", "3", "--symbols", "005930", *feeds)
    received = re.search(r" \d+ ticks \(([^)]*)\)", printed)
    assert received, printed
    assert {part.split("=")[0] for part in received[1].split(", ")} == {"H0STANC0", "H0STMKO0"}
    query = (
        "select (select count(*) from expected_ticks) as expected, "
        "(select count(*) from market_status) as status, "
        "(select count(*) from trade_ticks) as trades"
    )
    counted = subprocess.run(
        [*EXE, "sql", "--format", "json", query], capture_output=True, text=True, env=env
    )
    assert counted.returncode == 0, counted.stderr
    [row] = json.loads(counted.stdout)
    assert row["expected"] > 0 and row["status"] > 0 and row["trades"] == 0


def test_program_ticks_and_vi_events_from_the_stream(tmp_path: Path) -> None:
    """Program trading per stock (H0STPGM0) and the VIs of the market-status notices, beside
    the trades they belong to."""
    feeds = ("--feeds", "trades,program,market_status")
    env, printed = stream_for(tmp_path, "--duration", "3", "--symbols", "005930", *feeds)
    query = (
        "select (select count(*) from program_ticks) as program, "
        "(select count(*) from program_ticks where net_volume <> buy_volume - sell_volume "
        "or net_value <> buy_value - sell_value) as bad_nets, "
        "(select max(buy_volume + sell_volume) from program_ticks) as program_volume, "
        "(select max(cum_volume) from trade_ticks) as volume, "
        "(select count(*) from vi_events) as vis, "
        "(select count(*) from vi_events where released_at < triggered_at) as bad_vis"
    )
    counted = subprocess.run(
        [*EXE, "sql", "--format", "json", query], capture_output=True, text=True, env=env
    )
    assert counted.returncode == 0, counted.stderr
    [row] = json.loads(counted.stdout)
    assert row["program"] > 0 and row["bad_nets"] == 0, (row, printed)
    # Program trades are part of the day's trading.
    assert 0 < row["program_volume"] <= row["volume"], row
    assert row["vis"] > 0 and row["bad_vis"] == 0, row


def test_stream_then_sql_from_the_command_line(tmp_path: Path) -> None:
    """`kis-pipeline stream --duration N --persist` then `kis-pipeline sql`, as the README shows."""
    env, printed = stream_for(tmp_path, "--duration", "4", "--symbols", "005930,000660")
    # "stopped (...): ..., 804 ticks (H0STASP0=395, H0STCNT0=409), ..." then
    # "persisted 1 segment(s): 804 rows, 0 rejected ..."
    received = re.search(r" (\d+) ticks \(([^)]*)\)", printed)
    persisted = re.search(r"persisted \d+ segment\(s\): (\d+) rows, 0 rejected", printed)
    assert received and persisted, printed
    assert persisted[1] == received[1]
    trades = int(dict(part.split("=") for part in received[2].split(", "))["H0STCNT0"])
    counted = subprocess.run(
        [
            *EXE,
            "sql",
            "--format",
            "json",
            "select symbol, count(*) as ticks from trade_ticks group by symbol order by symbol",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert counted.returncode == 0, counted.stderr
    rows = json.loads(counted.stdout)
    assert [row["symbol"] for row in rows] == ["000660", "005930"]
    assert all(row["ticks"] > 0 for row in rows)
    assert sum(row["ticks"] for row in rows) == trades


def test_missing_keys_for_real_are_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIS_")}
    env["KIS_ENV"] = "real"
    result = subprocess.run([*EXE, "demo"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().startswith(
        "error: KIS_APP_KEY is not set (required when KIS_ENV=real)"
    )
    assert "Traceback" not in result.stderr


def test_an_unreachable_catalog_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A backfill whose PostgreSQL catalog is down: one line naming KIS_CATALOG, before any
    run, and no traceback."""
    monkeypatch.chdir(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIS_")}
    closed = "postgres:dbname=kis host=127.0.0.1 port=1 user=kis connect_timeout=5"
    env.update(
        KIS_ENV="sim",
        KIS_WAREHOUSE=str(tmp_path / "wh"),
        KIS_STATE_DIR=str(tmp_path / "state"),
        KIS_CATALOG=closed,
    )
    command = ["backfill", "--assets", "daily_prices", "--from", "2026-11-02", "--to"]
    result = subprocess.run(
        [*EXE, *command, "2026-11-06", "--symbols", "005930"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot reach the catalog {closed}")
    assert "check KIS_CATALOG" in lines[0]


def test_a_refused_write_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import kis_pipeline.cli.main as cli

    def refuse(_: object) -> int:
        raise PermissionError(13, "Permission denied", "/mnt/ro/warehouse/kis.duckdb")

    monkeypatch.setattr(cli, "_run", refuse)
    assert main(["sql", "select 1"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        "error: cannot write /mnt/ro/warehouse/kis.duckdb: permission denied; make it writable "
        "for this user or point KIS_WAREHOUSE and KIS_STATE_DIR at writable folders"
    )


def test_sql_reads_the_warehouse_without_app_keys_even_for_real(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A local, read-only query calls no API, so KIS_ENV=real needs no KIS_APP_KEY for it."""
    listed = seed_symbols(Warehouse(tmp_path / "wh"), Market(SIM_CONFIG))
    monkeypatch.chdir(tmp_path)
    for name in ("KIS_APP_KEY", "KIS_APP_SECRET", "KIS_REST_URL", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KIS_ENV", "real")
    monkeypatch.setenv("KIS_WAREHOUSE", str(tmp_path / "wh"))
    assert main(["sql", "select count(*) as listed from symbols"]) == 0
    captured = capsys.readouterr()
    assert f"{len(listed)}" in captured.out and "(1 row)" in captured.out
    assert captured.err == ""


def test_progress_folders_of_killed_commands_are_removed(tmp_path: Path) -> None:
    from kis_pipeline.lib import progress

    child = subprocess.Popen(["true"])
    child.wait()
    stale = tmp_path / f"{progress.SCRATCH_PREFIX}p{child.pid}-abc"
    mine = tmp_path / f"{progress.SCRATCH_PREFIX}p{os.getpid()}-def"
    for folder in (stale, mine):
        folder.mkdir()
        (folder / "daily_prices.json").write_text("{}")
    assert progress.sweep_scratch(tmp_path) == 1
    assert not stale.exists() and mine.exists()


@pytest.mark.parametrize(
    "command",
    [
        ["backfill", "--from", "2026-10-01", "--to", "2026-10-02", "--assets", "daily_prices"],
        ["stream", "--duration", "2", "--symbols", "005930"],
    ],
    ids=["backfill", "stream"],
)
def test_an_unreachable_state_url_is_one_line_before_any_work(
    command: list[str], tmp_path: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIS_")}
    env |= {
        "KIS_WAREHOUSE": str(tmp_path / "wh"),
        "KIS_STATE_DIR": str(tmp_path / "state"),
        "KIS_STATE_URL": f"redis://:sesame@127.0.0.1:{port}/0",
    }
    result = subprocess.run([*EXE, *command], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: cannot reach Redis at KIS_STATE_URL=redis://:***@127.0.0.1:{port}/0 "
        "(connection refused); start it or correct KIS_STATE_URL. No request goes to KIS "
        "without the shared rate limit"
    ]


@pytest.mark.parametrize("handed", [False, True], ids=["in-process", "submitted"])
def test_an_unreachable_dagster_postgres_is_one_clear_line(tmp_path: Path, handed: bool) -> None:
    """The team profile (docs/deploy/dagster.yaml) with its PostgreSQL down: one line naming
    DAGSTER_PG_URL, its password hidden, and no traceback or retry chatter."""
    home = tmp_path / "dagster"
    home.mkdir()
    shutil.copyfile(
        Path(__file__).parents[1] / "docs" / "deploy" / "dagster.yaml", home / "dagster.yaml"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "DAGSTER_"))}
    env.update(
        KIS_ENV="sim",
        KIS_WAREHOUSE=str(tmp_path / "wh"),
        KIS_STATE_DIR=str(tmp_path / "state"),
        DAGSTER_HOME=str(home),
        DAGSTER_PG_URL="postgresql+psycopg2://kis:sesame@127.0.0.1:1/dagster",
    )
    command = ["backfill", "--assets", "daily_prices", "--from", "2026-11-02", "--to"]
    command += ["2026-11-06", *(["--submit"] if handed else [])]
    result = subprocess.run(
        [*EXE, *command], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        "error: cannot reach the Dagster instance's PostgreSQL at "
        "DAGSTER_PG_URL=postgresql+psycopg2://kis:***@127.0.0.1:1/dagster ("
    )
    assert "sesame" not in result.stderr
