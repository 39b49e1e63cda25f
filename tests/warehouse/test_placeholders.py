"""Every table the README lists can be queried on a warehouse that never wrote it: it reads as
empty, with its declared columns, through `kis-pipeline sql`, `connect` and `kis-pipeline shell`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kis_pipeline.cli.lake import shell_script
from kis_pipeline.cli.main import main
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.warehouse import TABLES, Warehouse, connect
from kis_pipeline.warehouse.tables import VIEWS
from tests.helpers.daily_prices import DAY, SYMBOLS, prices

README = Path(__file__).parents[2] / "README.md"


def readme_tables() -> list[str]:
    """The names in the first column of the README's table list."""
    section = README.read_text().split("\n## Tables\n", 1)[1].split("\n### ", 1)[0]
    names: list[str] = []
    for line in section.splitlines():
        if line.startswith("| `"):
            names += re.findall(r"`([a-z_]+)`", line.split("|")[1])
    return names


@pytest.fixture
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    """A warehouse where only `daily_prices` was ever written."""
    for name in ("KIS_CATALOG", "KIS_APP_KEY", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KIS_WAREHOUSE", str(tmp_path / "wh"))
    wh = Warehouse(tmp_path / "wh")
    wh.write_partition("daily_prices", DAY.isoformat(), prices(DAY, SYMBOLS))
    return wh


def test_the_readme_lists_declared_tables() -> None:
    listed = readme_tables()
    assert "stream_rejects" in listed and len(listed) >= 20
    assert set(listed) <= set(TABLES) | set(VIEWS)


def test_every_listed_table_reads_as_empty_on_a_clean_warehouse(
    clean: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    names = [*readme_tables(), *VIEWS]
    with connect(clean) as con:
        for name in names:
            frame = con.sql(f"select * from {name}").pl()
            expected = 0 if name != "daily_prices" else len(SYMBOLS)
            assert frame.height == expected, name
            if name in TABLES:
                assert frame.columns == list(TABLES[name].schema), name
    capsys.readouterr()
    assert main(["sql", "--format", "json", "select * from stream_rejects"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_the_shell_finds_a_table_never_written(clean: Warehouse, tmp_path: Path) -> None:
    script = tmp_path / "init.sql"
    script.write_text(shell_script(KisSettings.from_env(require_keys=False)))
    found = subprocess.run(
        [
            str(Path(sys.executable).with_name("duckdb")),
            "-init",
            str(script),
            "-csv",
            "-c",
            "select count(*) as n from stream_rejects",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines()[-1] == "0"
