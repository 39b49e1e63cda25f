"""`minute_bars` against the simulator's truth: a backfilled week (the exam day's late session
included) equals the simulator's bars and adds up to the daily bars, at 4 calls per
symbol-day; the watchlist (KIS_MINUTE_SYMBOLS, the day's most traded, --symbols); days older
than KIS keeps, and past days in paper, skipped in one line; a wrong code and a missing
daily_prices in one line with nothing written; a malformed bar refused and counted."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.cli.dagster_runner import step_errors
from kis_pipeline.common import krx_calendar
from kis_pipeline.common.clock import KST_NAME
from kis_pipeline.defs.intraday.minute_bars import minute_bars
from kis_pipeline.ingest.minute_bars import disagreements
from kis_pipeline.simulator.config import FaultSpec
from kis_pipeline.simulator.corrupt import Corruption
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_minutes import minute_bars as simulated_bars
from kis_pipeline.simulator.server import SimulatorServer
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG, SIM_NOW, own_simulator

CONFIG = seed.fast_config(SIM_CONFIG, universe=12)
# A week holding the exam day (2026-11-19), whose session runs 10:00-16:30.
WEEK = (dt.date(2026, 11, 16), dt.date(2026, 11, 20))
EXAM_DAY = dt.date(2026, 11, 19)
MINUTES_TR = "FHKST03010230"

server, market = own_simulator(CONFIG)


_warehouse = seed.warehouse_at(SIM_NOW, unset=("KIS_MINUTE_SYMBOLS",))


def _truth(market: Market, days: list[dt.date], symbols: list[str]) -> pl.DataFrame:
    rows = []
    for day in days:
        for symbol in symbols:
            bar = market.bar(symbol, day)
            if bar is None or bar.volume <= 0:
                continue
            cumulative = 0
            for b in simulated_bars(market.config.seed, symbol, bar):
                cumulative += b.value
                ts = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=b.second)
                rows.append(
                    (day, ts, symbol, b.open, b.high, b.low, b.close, b.volume, b.value, cumulative)
                )
    columns = [
        "date",
        "ts",
        "symbol",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "value",
        "cum_value",
    ]
    frame = pl.DataFrame(rows, schema=columns, orient="row")
    return frame.with_columns(pl.col("ts").dt.replace_time_zone(KST_NAME)).sort("symbol", "ts")


def _span(days: tuple[dt.date, dt.date]) -> tuple[str, str]:
    return (days[0].isoformat(), days[1].isoformat())


def test_a_backfilled_week_is_the_simulators_bars_and_adds_up_to_the_days(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch)
    days = market.trading_days(*WEEK)
    seed.seed_daily_prices(wh, market, days)
    before = seed.served(server, _app_key())
    result = seed.run_assets([minute_bars], partition_range=_span(WEEK))
    checks = seed.check_evaluations(result)
    assert checks and all(c.passed for c in checks.values()), checks
    symbols = [x.symbol for x in market.listings]
    stored = wh.read("minute_bars").sort("symbol", "ts")
    truth = _truth(market, days, symbols)
    assert stored.select(truth.columns).equals(truth)
    # Every bar of a day together is the day's bar: the daily chart and the minutes agree.
    assert disagreements(stored, wh.read("daily_prices")).is_empty()
    daily = wh.read("daily_prices").group_by("date", "symbol").agg(pl.col("volume").sum())
    summed = stored.group_by("date", "symbol").agg(pl.col("volume").sum())
    assert summed.sort("date", "symbol").equals(
        daily.join(summed, on=["date", "symbol"], how="semi").sort("date", "symbol")
    )
    # The exam day trades an hour late, to its 16:30 closing auction.
    exam = stored.filter(pl.col("date") == EXAM_DAY)
    opens, closes = krx_calendar.session_hours(EXAM_DAY)
    assert exam["ts"].dt.time().min() == opens and exam["ts"].dt.time().max() == closes
    # Four calls per symbol-day: 381 bars, 120 a call.
    symbol_days = truth.select("date", "symbol").unique().height
    meta = seed.materialization_metadata(result, "minute_bars")
    assert meta["calls_planned"] == 4 * symbol_days
    assert seed.served(server, _app_key()) - before == 4 * symbol_days
    # A rerun writes the same rows.
    seed.run_assets([minute_bars], partition_range=_span(WEEK))
    assert wh.read("minute_bars").sort("symbol", "ts").equals(stored)


def _app_key() -> str:
    import os

    return os.environ["KIS_APP_KEY"]


def test_the_watchlist_is_the_days_most_traded_or_the_names_given(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch)
    day = WEEK[1]
    seed.seed_daily_prices(wh, market, [day])
    monkeypatch.setattr("kis_pipeline.ingest.minute_bars.TOP_BY_VALUE", 3)
    seed.run_assets([minute_bars], partition_key=day.isoformat())
    daily = wh.read("daily_prices").sort(["value", "symbol"], descending=[True, False])
    assert sorted(wh.read("minute_bars")["symbol"].unique()) == sorted(daily["symbol"][:3])

    chosen = [x.symbol for x in market.listings][-2:]
    monkeypatch.setenv("KIS_MINUTE_SYMBOLS", ",".join(chosen))
    seed.run_assets([minute_bars], partition_key=day.isoformat())
    assert sorted(wh.read("minute_bars")["symbol"].unique()) == sorted(chosen)

    # A code listed on none of the run's days: one line, and what was stored stays.
    monkeypatch.setenv("KIS_MINUTE_SYMBOLS", f"{chosen[0]},999999")
    failed = seed.run_assets([minute_bars], partition_key=day.isoformat(), raise_on_error=False)
    assert not failed.success
    errors = step_errors(failed)
    assert any("unknown symbols 999999" in e and "KIS_MINUTE_SYMBOLS" in e for e in errors), errors
    assert sorted(wh.read("minute_bars")["symbol"].unique()) == sorted(chosen)


def test_days_kis_no_longer_keeps_are_skipped_in_one_line(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch, KIS_MINUTE_SYMBOLS="005930")
    old = (dt.date(2025, 11, 17), dt.date(2025, 11, 21))  # a year before SIM_NOW, and a bit
    seed.seed_daily_prices(wh, market, market.trading_days(*old))
    result = seed.run_assets([minute_bars], partition_range=_span(old))
    meta = seed.materialization_metadata(result, "minute_bars")
    skipped = meta["skipped"]
    assert "KIS keeps 365 days of minute bars" in skipped and "2025-11-17 to 2025-11-19" in skipped
    assert "\n" not in skipped
    stored = wh.partitions("minute_bars")
    assert stored == ["2025-11-20", "2025-11-21"]


def test_without_the_days_daily_prices_the_run_says_so_and_writes_nothing(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch)
    failed = seed.run_assets([minute_bars], partition_key=WEEK[1].isoformat(), raise_on_error=False)
    assert not failed.success
    errors = step_errors(failed)
    assert len(errors) == 1 and "materialize daily_prices for those days first" in errors[0]
    assert not wh.partitions("minute_bars")


def test_paper_fetches_todays_bars_and_skips_past_days(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    symbol = market.listings[0].symbol
    wh = _warehouse(
        server, market, tmp_path, monkeypatch, KIS_ENV="paper", KIS_MINUTE_SYMBOLS=symbol
    )
    today = SIM_NOW.date()
    days = market.trading_days(WEEK[0], today)
    seed.seed_daily_prices(wh, market, days)
    result = seed.run_assets(
        [minute_bars], partition_range=(WEEK[0].isoformat(), today.isoformat())
    )
    meta = seed.materialization_metadata(result, "minute_bars")
    assert "serves only today's minute bars" in meta["skipped"]
    assert wh.partitions("minute_bars") == [today.isoformat()]
    assert meta["calls_planned"] == 13  # 381 bars, 30 a call
    truth = _truth(market, [today], [symbol])
    assert wh.read("minute_bars").sort("ts").select(truth.columns).equals(truth)


@pytest.fixture(scope="module")
def corrupt_server() -> Iterator[SimulatorServer]:
    bad = (Corruption("stck_hgpr", "n/a", "000660", dt.date(2026, 11, 18), MINUTES_TR),)
    with SimulatorServer(dataclasses.replace(CONFIG, faults=FaultSpec(corrupt=bad))) as running:
        yield running


def test_a_malformed_bar_is_refused_counted_and_fails_the_checks(
    corrupt_server: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = corrupt_server.state.market
    wh = _warehouse(
        corrupt_server, market, tmp_path, monkeypatch, KIS_MINUTE_SYMBOLS="005930,000660"
    )
    day = dt.date(2026, 11, 18)
    seed.seed_daily_prices(wh, market, [day])
    result = seed.run_assets([minute_bars], partition_key=day.isoformat(), raise_on_error=False)
    checks = seed.check_evaluations(result)
    assert not checks["minute_bars_no_rejects"].passed
    assert not checks["minute_bars_complete"].passed
    stored = wh.read("minute_bars")
    # Nothing of 000660's garbled day is stored, as zeros or otherwise; 005930's is whole.
    assert set(stored["symbol"].to_list()) <= {"005930"}
    rejects = wh.read("rest_rejects").filter(pl.col("target_table") == "minute_bars")
    assert rejects.height == 381 and set(rejects["symbol"]) == {"000660"}
