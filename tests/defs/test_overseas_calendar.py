"""`overseas_calendar` against the simulator's holidays, and `overseas_daily_prices` judged
against it: a bar missing on an open day is an error, a holiday is no alarm, and without a
stored calendar a missing bar still only warns. Paper (VTS) has no countries-holiday."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from kis_pipeline.common.overseas_exchanges import EXCHANGES
from kis_pipeline.defs.calendar.overseas_calendar import overseas_calendar
from kis_pipeline.defs.prices.overseas import overseas_checks, overseas_daily_prices
from kis_pipeline.ingest.overseas_calendar import calendar_year
from kis_pipeline.kis import schemas
from kis_pipeline.kis.client import KisClient
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.overseas_holidays import is_open
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs.seed import (
    check_evaluations,
    fast_config,
    materialization_metadata,
    point_at,
    run_assets,
    tr_calls,
    use_simulator,
)
from tests.helpers.simulator import SIM_CONFIG, SIM_NOW

warnings.filterwarnings("ignore", category=dg.BetaWarning)

MARKET = Market(fast_config(SIM_CONFIG))
TR_ID = "CTOS5011R"
COMPLETE = "overseas_daily_prices_complete"
# China's golden week (1-7 October) closes Shanghai, not New York or Hanoi.
TICKERS = ["NAS:AAPL", "SHS:600519", "HNX:PVS"]
RANGE = ("2026-09-28", "2026-10-16")


@pytest.fixture
def wh(fast_sim: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    point_at(fast_sim, tmp_path / "wh", tmp_path / "state", monkeypatch)
    monkeypatch.setenv("KIS_NOW", SIM_NOW.isoformat())
    return Warehouse(tmp_path / "wh")


def prices(tickers: list[str] = TICKERS) -> dg.ExecuteInProcessResult:
    return run_assets(
        [overseas_daily_prices],
        partition_range=RANGE,
        run_config={"ops": {"overseas_daily_prices": {"config": {"tickers": tickers}}}},
    )


def test_the_calendar_is_the_simulators_and_a_rerun_asks_only_from_today(wh: Warehouse) -> None:
    result = run_assets([overseas_calendar], partition_key="2026")
    frame = wh.read("overseas_calendar")
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(365)]
    assert frame.height == len(days) * len(EXCHANGES)
    truth = {(d, e.code): is_open(e.country, d) for d in days for e in EXCHANGES.values()}
    got = {(d, e): o for d, e, o in frame.select("date", "exchange", "is_open").iter_rows()}
    assert got == truth
    assert not got[(dt.date(2026, 11, 26), "NAS")] and got[(dt.date(2026, 11, 26), "TSE")]
    # One call per weekday; weekends cost none.
    weekdays = sum(d.weekday() < 5 for d in days)
    assert tr_calls(materialization_metadata(result, "overseas_calendar"), TR_ID) == weekdays
    assert all(e.passed for e in check_evaluations(result).values())

    again = run_assets([overseas_calendar], partition_key="2026")
    ahead = sum(d.weekday() < 5 for d in days if d >= SIM_NOW.date())
    assert tr_calls(materialization_metadata(again, "overseas_calendar"), TR_ID) == ahead
    assert wh.read("overseas_calendar").sort("date", "exchange").equals(frame)


def test_days_kis_does_not_know_yet_are_not_called_closed(sim_client: KisClient) -> None:
    # The simulator knows the days through the end of next year (2027), none after.
    year = calendar_year(
        sim_client, 2028, pl.DataFrame(schema=schemas.OVERSEAS_CALENDAR), SIM_NOW.date()
    )
    assert year.frame.is_empty() and year.calls == 1


def test_the_simulator_serves_no_bar_on_a_holiday() -> None:
    nas = {
        b.date for b in MARKET.overseas_bars("NAS", "AAPL", dt.date(2025, 11, 24), SIM_NOW.date())
    }
    assert dt.date(2025, 11, 27) not in nas and dt.date(2025, 11, 28) in nas
    shs = {
        b.date for b in MARKET.overseas_bars("SHS", "600519", dt.date(2026, 9, 28), SIM_NOW.date())
    }
    assert not shs & {dt.date(2026, 10, d) for d in range(1, 8)}
    assert dt.date(2026, 10, 8) in shs


def test_completeness_is_judged_against_the_calendar(wh: Warehouse) -> None:
    # Without a calendar the holidays are holes nobody can judge: a warning.
    unjudged = check_evaluations(prices())[COMPLETE]
    assert not unjudged.passed and unjudged.severity == dg.AssetCheckSeverity.WARN

    # With it, the same bars are complete: the holidays are not expected.
    run_assets([overseas_calendar], partition_key="2026")
    assert check_evaluations(prices())[COMPLETE].passed

    # And a bar lost on an open day is an error naming it.
    day = dt.date(2026, 10, 8)
    stored = wh.read("overseas_daily_prices", [day.isoformat()])
    wh.write_partition(
        "overseas_daily_prices", day.isoformat(), stored.filter(pl.col("exchange") != "SHS")
    )
    days = [day + dt.timedelta(days=i) for i in range(2)]
    pairs = [tuple(t.split(":")) for t in TICKERS]
    (complete,) = [
        r for r in overseas_checks(wh, days, pairs, now=SIM_NOW) if "complete" in r.check_name
    ]
    assert not complete.passed and complete.severity == dg.AssetCheckSeverity.ERROR
    offending = complete.metadata["offending"].data
    assert [(r["exchange"], r["symbol"]) for r in offending] == [("SHS", "600519")]


def test_paper_skips_the_calendar_with_a_reason(
    sim_server: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = use_simulator(monkeypatch, sim_server, tmp_path, KIS_ENV="paper")
    result = run_assets([overseas_calendar], partition_key="2026")
    meta = materialization_metadata(result, "overseas_calendar")
    assert meta["skipped"] == (
        "overseas_calendar skipped: KIS's paper (mock) service has no countries-holiday (SPEC §16)"
    )
    assert wh.partitions("overseas_calendar") == []


def test_a_day_of_overseas_bars_maps_to_its_calendar_year() -> None:
    # The bars' UTC days and the calendar's KST years must map, or a backfill of both (the
    # demo's) fails before running: "Timezones Asia/Seoul and UTC don't match".
    from kis_pipeline.definitions import defs

    parents = defs.resolve_asset_graph().get_parent_partition_keys_for_child(
        "2026-10-01", dg.AssetKey("overseas_calendar"), dg.AssetKey("overseas_daily_prices")
    )
    assert "2026" in set(parents.partitions_subset.get_partition_keys())
