"""Opening the lake: extensions from their packages without a network, and the faults a person
meets said in one line (catalog unreachable or too new, data path missing or unwritable, a full
disk mid-write), with the lake consistent afterwards."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import duckdb
import pytest

from kis_pipeline.warehouse import LakeConfig, LakeError, Warehouse, WarehouseError, connect
from kis_pipeline.warehouse.extensions import PACKAGES, load, packaged_file
from kis_pipeline.warehouse.lake import connect as open_lake
from tests.helpers.disks import Mount, fill
from tests.warehouse.lake_checks import assert_lake_whole
from tests.helpers.daily_prices import DAY, SYMBOLS, prices

UNREACHABLE = "http://127.0.0.1:9"  # nothing listens on the discard port here


def test_extensions_install_from_their_packages_into_a_fresh_directory_offline(
    tmp_path: Path,
) -> None:
    con = duckdb.connect()
    # Any download would go to a server that is not there, and fail.
    con.execute(f"SET custom_extension_repository = '{UNREACHABLE}'")
    load(con, tuple(PACKAGES), tmp_path / "extensions")
    installed = con.execute(
        "SELECT extension_name, install_path FROM duckdb_extensions() WHERE loaded "
        "AND install_path LIKE ?",
        [f"{tmp_path}%"],
    ).fetchall()
    assert {name for name, _ in installed} == set(PACKAGES)
    # The second time they are loaded as installed, not installed again.
    again = duckdb.connect()
    again.execute(f"SET custom_extension_repository = '{UNREACHABLE}'")
    load(again, ("ducklake",), tmp_path / "extensions")
    assert packaged_file("sqlite_scanner").name == "sqlite_scanner.duckdb_extension"


def test_a_lake_opens_on_a_fresh_extension_directory(tmp_path: Path) -> None:
    config = LakeConfig.local(tmp_path / "wh")
    with open_lake(config, extension_dir=tmp_path / "ext") as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    assert (tmp_path / "ext").is_dir()


def test_an_unreachable_postgres_catalog_is_one_line(tmp_path: Path) -> None:
    config = LakeConfig("postgres:host=127.0.0.1 port=9 dbname=kis password=hunter2", "/tmp/x/")
    with pytest.raises(LakeError) as caught:
        open_lake(config, read_only=True)
    message = str(caught.value)
    assert message.startswith("cannot reach the catalog postgres:host=127.0.0.1 port=9")
    assert "check KIS_CATALOG" in message and "\n" not in message
    assert "hunter2" not in message


def test_a_catalog_of_a_newer_ducklake_is_one_line_and_left_alone(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    wh.write_partition("daily_prices", DAY.isoformat(), prices(DAY, SYMBOLS))
    wh.close()
    catalog = tmp_path / "catalog.sqlite"
    with sqlite3.connect(catalog) as db:
        db.execute("UPDATE ducklake_metadata SET value = '9.9' WHERE key = 'version'")
    with pytest.raises(LakeError) as caught:
        connect(Warehouse(tmp_path))
    message = str(caught.value)
    assert "written by a newer DuckLake" in message and "upgrade kis-pipeline" in message
    with sqlite3.connect(catalog) as db:
        assert db.execute("SELECT value FROM ducklake_metadata WHERE key = 'version'").fetchone()
        assert db.execute(
            "SELECT value FROM ducklake_metadata WHERE key = 'version'"
        ).fetchone() == ("9.9",)


def test_a_data_path_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    wh = Warehouse(blocker / "wh")
    with pytest.raises(WarehouseError) as caught:
        wh.write_partition("daily_prices", DAY.isoformat(), prices(DAY, SYMBOLS))
    message = str(caught.value)
    assert message.startswith(f"cannot create {blocker / 'wh'}") and "KIS_" in message
    assert "\n" not in message


def test_data_files_gone_from_the_data_path_is_one_line(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh")
    many = [f"{n:06d}" for n in range(50)]  # a file, not rows inlined in the catalog
    wh.write_partition("daily_prices", DAY.isoformat(), prices(DAY, many))
    for path in (tmp_path / "wh" / "lake").rglob("*.parquet"):
        path.unlink()
    with pytest.raises(WarehouseError) as caught:
        wh.read("daily_prices")
    message = str(caught.value)
    assert "\n" not in message and "daily_prices" in message and "KIS_WAREHOUSE" in message


def test_a_disk_that_fills_mid_write_is_one_line_and_the_lake_stays_whole(
    tmpfs: Mount,
) -> None:
    disk = tmpfs("disk", "8m")
    wh = Warehouse(disk / "wh")
    kept = prices(DAY, [f"{n:06d}" for n in range(50)])
    wh.write_partition("daily_prices", DAY.isoformat(), kept)
    filler = fill(disk, leave=16 * 1024)
    big = {
        (DAY + dt.timedelta(days=n)).isoformat(): prices(
            DAY + dt.timedelta(days=n), [f"{s:06d}" for s in range(3000)]
        )
        for n in range(1, 20)
    }
    with pytest.raises(WarehouseError) as caught:
        wh.write_partitions("daily_prices", big)
    message = str(caught.value)
    assert "no space left" in message.lower() or "disk full" in message.lower()
    assert "free some space" in message and "\n" not in message
    filler.unlink()
    # Nothing of the failed write is visible; what was there before is whole.
    assert wh.partitions("daily_prices") == [DAY.isoformat()]
    assert wh.read("daily_prices").height == kept.height
    assert_lake_whole(wh)
