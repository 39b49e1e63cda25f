"""A read-only or full disk under the warehouse or the state dir: every command that writes says so
in one line, naming the folder and the setting that moves it, and after space is freed the
warehouse holds only whole, readable partitions and a `--missing` backfill completes it.

The disks are small tmpfs mounts made by the tests (root only); elsewhere the tests skip.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from kis_pipeline.cli.dagster_runner import INSTANCE_CONFIG, dagster_home
from kis_pipeline.cli.main import main
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs.seed import fast_config, point_at, seed
from tests.helpers.disks import Mount, fill, read_only
from tests.helpers.simulator import SIM_CONFIG
from tests.warehouse.lake_checks import assert_lake_whole

CONFIG = fast_config(SIM_CONFIG)
MARKET = Market(CONFIG)
SYMBOLS = [MARKET.listings[i].symbol for i in (0, 3, 47)]
COMMANDS = {
    "backfill": ["backfill", "--from", "2026-11-02", "--to", "2026-11-06", "--missing"],
    "dev": ["dev", "--port", "0"],
    "stream": ["stream", "--duration", "2", "--symbols", SYMBOLS[0]],
}


@pytest.fixture
def env(
    fast_sim: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[Path, Path], dict[str, str]]:
    """`env(warehouse, state_dir)` points the product at them and at the test simulator."""

    def point(warehouse: Path, state_dir: Path) -> dict[str, str]:
        return point_at(fast_sim, warehouse, state_dir, monkeypatch)

    monkeypatch.chdir(tmp_path)
    return point


def one_error_line(err: str) -> str:
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    return errors[0]


@pytest.mark.parametrize(
    ("command", "broken", "trouble"),
    [
        ("backfill", "warehouse", "read-only"),
        ("dev", "warehouse", "read-only"),
        ("stream", "warehouse", "read-only"),
        ("backfill", "warehouse", "full"),
        ("dev", "warehouse", "full"),
        ("stream", "warehouse", "full"),
        ("stream", "state", "read-only"),
        ("backfill", "state", "full"),
    ],
)
def test_a_read_only_or_full_folder_is_one_line_before_any_work(
    command: str,
    broken: str,
    trouble: str,
    tmpfs: Mount,
    tmp_path: Path,
    env: Callable[[Path, Path], dict[str, str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    disk = tmpfs("disk", "8m")
    warehouse = disk / "wh" if broken == "warehouse" else tmp_path / "wh"
    state = disk / "state" if broken == "state" else tmp_path / "state"
    env(warehouse, state)
    # An existing warehouse with its Dagster instance, as the issue met it.
    seed(Warehouse(warehouse), MARKET)
    dagster_home(KisSettings.from_env())
    state.mkdir(parents=True, exist_ok=True)
    if trouble == "read-only":
        read_only(disk)
    else:
        fill(disk)
    assert main(COMMANDS[command]) == 1
    line = one_error_line(capsys.readouterr().err)
    setting = "KIS_WAREHOUSE" if broken == "warehouse" else "KIS_STATE_DIR"
    if trouble == "read-only":
        assert line.startswith(
            f"error: cannot write {warehouse if broken == 'warehouse' else state}"
        )
        assert line.endswith(f"the file system is read-only; point {setting} at a writable folder")
        # Reading writes nothing, so a read-only warehouse still answers queries.
        assert main(["sql", "select count(*) as listed from symbols"]) == 0
        assert str(len(MARKET.listings)) in capsys.readouterr().out
    else:
        assert "no space left on its disk" in line and "free some space there" in line


@pytest.mark.parametrize("instance", ["in the warehouse", "elsewhere"])
def test_a_disk_that_fills_during_a_backfill_is_one_line_and_the_warehouse_stays_whole(
    instance: str,
    tmpfs: Mount,
    env: Callable[[Path, Path], dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The disk fills under the Dagster instance (SQLite), or, with the instance elsewhere, under
    the Parquet files an asset writes."""
    disk = tmpfs("disk", "16m")
    warehouse = disk / "wh"
    env(warehouse, disk / "state")
    if instance == "elsewhere":
        home = tmpfs("dagster", "64m")
        shutil.copyfile(INSTANCE_CONFIG, home / "dagster.yaml")
        monkeypatch.setenv("DAGSTER_HOME", str(home))
    wh = Warehouse(warehouse)
    seed(wh, MARKET)
    argv = [
        "backfill",
        *("--from", "2026-07-01", "--to", "2026-11-20"),
        *("--assets", "daily_prices", "--symbols", ",".join(SYMBOLS)),
    ]
    # Room for the checks and the first partitions, not for the whole range.
    filler = fill(disk, leave=64 * 1024)
    assert main([*argv]) == 1
    line = one_error_line(capsys.readouterr().err)
    place = warehouse / ".dagster" if instance == "in the warehouse" else warehouse
    assert line.startswith(f"error: cannot write {place}: no space left on its disk"), line

    filler.unlink()
    assert_lake_whole(wh)
    assert main(["sql", "select count(*) from symbols"]) == 0

    capsys.readouterr()
    assert main([*argv, "--missing"]) == 0, capsys.readouterr().err
    days = MARKET.trading_days(dt.date(2026, 7, 1), dt.date(2026, 11, 20))
    prices = wh.read("daily_prices")
    assert prices.height == len(days) * len(SYMBOLS)
    assert prices.select("date", "symbol").is_duplicated().sum() == 0
