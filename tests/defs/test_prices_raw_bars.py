"""The adjusted chart divides by raw bars already fetched: never a second raw chart call.

The raw cache keeps only final windows, so the newest window (ending on a session that closed
today) must come from the warehouse's daily_prices, which the same backfill has just written.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from kis_pipeline.ingest.daily_chart import ChartCache, plan_windows
from kis_pipeline.ingest.daily_prices import raw_bars
from kis_pipeline.warehouse import Warehouse
from tests.helpers.daily_prices import prices

DAYS = [dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 4)]


def test_newest_window_uses_the_raw_rows_in_the_warehouse(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh")
    for day in DAYS:
        wh.write_partition("daily_prices", day.isoformat(), prices(day, ["005930", "000660"]))
    # Not final yet: the cache refuses to keep the window, as on the evening of its last day.
    cache = ChartCache(tmp_path / "cache", as_of=DAYS[-1], final_through=DAYS[0])
    lookup = raw_bars(wh, cache, plan_windows(DAYS)[0])
    frame = lookup("005930")
    assert frame is not None and frame["date"].to_list() == DAYS
    # A symbol without a complete window in the warehouse is fetched instead.
    assert lookup("035420") is None
