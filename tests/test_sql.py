"""`kis-pipeline sql` for scripts (--format csv|json) and for research on the past (--snapshot,
--as-of), and `kis-pipeline shell`: the DuckDB command line on the lake, read-only."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kis_pipeline.cli.lake import shell_script
from kis_pipeline.cli.main import main
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.warehouse import Warehouse
from tests.helpers.daily_prices import DAY, SYMBOLS, prices


@pytest.fixture
def restated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Warehouse, int, str]:
    """A day written, then re-pulled with other closes; the first write's snapshot and a time
    between the two."""
    for name in ("KIS_CATALOG", "KIS_APP_KEY", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KIS_WAREHOUSE", str(tmp_path / "wh"))
    wh = Warehouse(tmp_path / "wh")
    first = wh.write_partition("daily_prices", DAY.isoformat(), prices(DAY, SYMBOLS, close=100))
    time.sleep(0.05)
    between = dt.datetime.now(dt.UTC).isoformat()
    time.sleep(0.05)
    wh.write_partition("daily_prices", DAY.isoformat(), prices(DAY, SYMBOLS, close=120))
    assert first.snapshot is not None
    return wh, first.snapshot, between


QUERY = "select date, symbol, close, split_ratio from daily_prices order by symbol"


def test_json_is_one_array_of_rows_with_iso_dates_and_numbers(
    restated: tuple[Warehouse, int, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sql", "--format", "json", QUERY]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0] == {"date": "2024-01-02", "symbol": "000660", "close": 120, "split_ratio": 0.0}
    assert len(rows) == 3


def test_csv_has_a_header_and_one_line_per_row(
    restated: tuple[Warehouse, int, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sql", "--format", "csv", QUERY]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "date,symbol,close,split_ratio"
    assert lines[1] == "2024-01-02,000660,120,0.0"
    assert len(lines) == 4


def test_a_snapshot_or_a_time_answers_as_the_lake_was_then(
    restated: tuple[Warehouse, int, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, first, between = restated
    query = "select max(close) as close from daily_prices"
    for argv in (["--snapshot", str(first)], ["--as-of", between], []):
        assert main(["sql", "--format", "json", *argv, query]) == 0
        assert json.loads(capsys.readouterr().out) == [{"close": 120 if not argv else 100}]
    assert main(["sql", "--as-of", "2001-01-01", query]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: the lake has no snapshot at or before 2001-01-01")


def test_the_shell_is_the_duckdb_command_line_on_the_lake_read_only(
    restated: tuple[Warehouse, int, str], tmp_path: Path
) -> None:
    script = tmp_path / "init.sql"
    script.write_text(shell_script(KisSettings.from_env(require_keys=False)))
    duckdb_cli = Path(sys.executable).with_name("duckdb")

    def run(statement: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(duckdb_cli), "-init", str(script), "-csv", "-c", statement],
            capture_output=True,
            text=True,
            timeout=60,
        )

    counted = run("select count(*) as n, max(close) as close from daily_prices")
    assert counted.returncode == 0, counted.stderr
    assert counted.stdout.splitlines()[-1] == "3,120"
    refused = run("delete from daily_prices")
    assert "read-only" in (refused.stdout + refused.stderr)
