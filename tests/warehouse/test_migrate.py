"""`kis-pipeline warehouse migrate` on a warehouse of the manifest layout (tests/warehouse/fixtures)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from kis_pipeline.cli.main import main
from kis_pipeline.warehouse import Warehouse

FIXTURE = Path(__file__).parent / "fixtures" / "old_layout"


@pytest.fixture
def old(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "wh"
    shutil.copytree(FIXTURE, root)
    monkeypatch.setenv("KIS_WAREHOUSE", str(root))
    monkeypatch.delenv("KIS_CATALOG", raising=False)
    return root


def closes(wh: Warehouse) -> list[tuple[object, ...]]:
    return wh.read("daily_prices").sort("date", "symbol").select("date", "symbol", "close").rows()


def test_migration_copies_exactly_the_live_rows_and_can_run_again(
    old: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["warehouse", "migrate"]) == 0
    assert "migrated 3 table(s), 5 partitions, 11 rows" in capsys.readouterr().err
    wh = Warehouse(old)
    day = dt.date
    # What the old release read: the live files only, not the retired ones still on disk.
    want = [
        (day(2024, 1, 2), "000660", 102),
        (day(2024, 1, 2), "005930", 102),
        (day(2024, 1, 3), "000660", 7),
        (day(2024, 1, 3), "005930", 103),
        (day(2024, 2, 1), "000660", 300),
        (day(2024, 2, 1), "005930", 300),
    ]
    assert closes(wh) == want
    assert wh.partitions("daily_prices") == ["2024-01-02", "2024-01-03", "2024-02-01"]
    assert wh.partitions("trading_calendar") == ["2024"]
    calendar = wh.read("trading_calendar").sort("date")
    assert calendar.select("date", "is_trading_day").rows() == [
        (day(2024, 1, 1), False),
        (day(2024, 1, 2), True),
    ]
    ticks = wh.read("market_status").sort("seq")
    assert ticks.select("segment_id", "seq").rows() == [("seg-a", 1), ("seg-a", 2), ("seg-b", 3)]
    # A rerun of a migrated segment replaces its own rows, as with any lake piece.
    wh.write_partition("market_status", "2024-01-02", ticks.filter(ticks["seq"] == 3), part="seg-b")
    assert wh.read("market_status").height == 3

    assert main(["warehouse", "migrate"]) == 0
    assert closes(wh) == want
    assert wh.read("market_status").height == 3


def test_a_manifest_naming_a_missing_file_is_one_line(
    old: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    next((old / "parquet" / "trading_calendar").rglob("*.parquet")).unlink()
    assert main(["warehouse", "migrate"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: trading_calendar: 1 file(s) its manifest lists are missing")
    assert len(err.splitlines()) == 1
