"""A range backfill's rate depends on writing one window while the next is fetched: the ingest
layer must hand back each window before it fetches the next one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.ingest import daily_chart
from kis_pipeline.ingest.daily_chart import ChartCache
from kis_pipeline.ingest.daily_prices import RAW, fetch_windows, plan_range
from kis_pipeline.warehouse import TABLES, Warehouse
from tests.helpers.daily_prices import prices

SYMBOLS = ["005930", "000660"]


class Listed:
    """Every symbol listed on every day."""

    only = None

    def on(self, day: dt.date) -> list[str]:
        return list(SYMBOLS)


def test_each_window_is_handed_back_before_the_next_is_fetched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetched: list[tuple[str, dt.date]] = []

    def chart(
        client: object, symbol: str, start: dt.date, end: dt.date, **_: object
    ) -> pl.DataFrame:
        fetched.append((symbol, start))
        return prices(start, [symbol]).select(list(TABLES[RAW].schema))

    monkeypatch.setattr(daily_chart, "fetch_daily_chart", chart)
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(150)]
    plan = plan_range(Listed(), days, set(days))  # type: ignore[arg-type]
    assert len(plan.windows) == 2 and plan.calls_planned == 4
    cache = ChartCache(tmp_path / "cache", as_of=days[-1])
    windows = fetch_windows(
        object(),  # type: ignore[arg-type]
        Warehouse(tmp_path / "wh"),
        cache,
        plan,
        table=RAW,
    )

    first = next(windows)
    assert first.window == plan.windows[0]
    assert {start for _, start in fetched} == {plan.windows[0].start}
    assert sorted(first.frame["symbol"].to_list()) == sorted(SYMBOLS)

    second = next(windows)
    assert second.window == plan.windows[1]
    assert len(fetched) == 4
