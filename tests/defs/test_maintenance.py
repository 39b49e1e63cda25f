"""The compaction asset merges closed months of daily tables and leaves tick tables alone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from kis_pipeline.defs.maintenance import warehouse_compaction
from kis_pipeline.defs.resources import WarehouseResource
from kis_pipeline.warehouse import Warehouse
from tests.warehouse.test_store import prices


def test_closed_months_become_one_file_and_the_rows_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIS_WAREHOUSE", str(tmp_path))
    wh = Warehouse(tmp_path)
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(40)]
    for day in days:
        wh.write_partition("daily_prices", day.isoformat(), prices(day, ["005930"]), refresh=False)
    wh.refresh_catalog()
    before = wh.read("daily_prices").sort("date")
    result = dg.materialize([warehouse_compaction], resources={"warehouse": WarehouseResource()})
    assert result.success
    # January and the days of February are in the past (closed months), one file each.
    assert len(wh.live_files("daily_prices")) == 2
    assert wh.read("daily_prices").sort("date").equals(before)
    again = dg.materialize([warehouse_compaction], resources={"warehouse": WarehouseResource()})
    meta = again.asset_materializations_for_node("warehouse_compaction")[0].metadata
    assert meta["months_merged"].value == 0
