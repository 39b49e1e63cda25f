"""A market's program trading (SPEC §9.8) against the simulator's truth: a family keyed by
market, not by symbol, built by the same factory as the per-symbol trends: one call per market
whatever the symbols the run is limited to, rows that are the market's stocks summed, days
older than KIS keeps skipped in one line without a call or a write, and a malformed record
refused and counted."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest

from kis_pipeline.defs.market_activity.assets import BUILT
from kis_pipeline.kis.endpoints.trends import MARKET_TRENDS
from kis_pipeline.simulator.config import FaultSpec
from kis_pipeline.simulator.corrupt import Corruption
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG, SIM_NOW

TABLE = "market_program_trading"
TREND = MARKET_TRENDS[TABLE]
ASSET = BUILT[TABLE].asset
MARKETS = ["KOSDAQ", "KOSPI"]


@pytest.fixture
def wh(wh: Warehouse, market: Market, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    # One symbol: a market-keyed family is not narrowed by it. The clock is the simulator's,
    # which the eight months KIS keeps are counted from.
    monkeypatch.setenv("KIS_SYMBOLS", "005930")
    monkeypatch.setenv("KIS_NOW", SIM_NOW.isoformat())
    seed.seed_calendar(wh, market, years=[2026])
    return wh


def _assert_matches(frame: pl.DataFrame, market: Market) -> None:
    assert frame.height > 0
    for row in frame.iter_rows(named=True):
        truth = market.market_program(row["market"], row["date"])
        assert truth is not None
        for part, figures in (("", truth.total), ("arbitrage_", truth.arbitrage)):
            assert {k: row[f"{part}{k}"] for k in figures} == figures, row
        for kind in ("volume", "value"):
            assert row[f"non_arbitrage_net_{kind}"] == (
                truth.non_arbitrage[f"buy_{kind}"] - truth.non_arbitrage[f"sell_{kind}"]
            )


def test_a_night_is_one_call_per_market_and_sums_the_markets_stocks(
    wh: Warehouse, market: Market
) -> None:
    result = seed.run_assets([ASSET], partition_range=("2026-11-19", "2026-11-20"))
    checks = seed.check_evaluations(result)
    assert set(checks) == {
        f"{TABLE}_{name}" for name in ("unique_keys", "complete", "no_rejects", "nets", "parts")
    }
    assert all(e.passed for e in checks.values()), checks
    meta = seed.materialization_metadata(result, TABLE)
    assert seed.tr_calls(meta, TREND.endpoint.tr_id) == 2 == meta["calls_planned"]
    assert meta["markets"] == 2
    frame = wh.read(TABLE)
    assert frame.select("date", "market").sort("date", "market").rows() == [
        (day, name) for day in (dt.date(2026, 11, 19), dt.date(2026, 11, 20)) for name in MARKETS
    ]
    _assert_matches(frame, market)


def test_a_backfill_walks_back_thirty_sessions_a_call_with_holidays_empty(
    wh: Warehouse, market: Market
) -> None:
    result = seed.run_assets([ASSET], partition_range=("2026-08-03", "2026-11-20"))
    sessions = market.trading_days(dt.date(2026, 8, 3), dt.date(2026, 11, 20))
    meta = seed.materialization_metadata(result, TABLE)
    # 75 sessions: three windows of 30 per market.
    assert seed.tr_calls(meta, TREND.endpoint.tr_id) == 2 * 3 == meta["calls_planned"]
    frame = wh.read(TABLE)
    assert sorted(set(frame["date"].to_list())) == sessions
    assert frame.height == 2 * len(sessions)
    assert wh.read(TABLE, ["2026-10-09"]).is_empty()
    _assert_matches(frame, market)


def test_days_older_than_kis_keeps_are_skipped_in_one_line_without_a_call(
    wh: Warehouse, market: Market
) -> None:
    # 2026-03-20 and 2026-03-23 are past the 240 days KIS keeps; 2026-03-25 is not.
    result = seed.run_assets([ASSET], partition_range=("2026-03-20", "2026-03-25"))
    meta = seed.materialization_metadata(result, TABLE)
    assert meta["skipped"] == (
        "market_program_trading: KIS keeps 240 days of market program trading (SPEC §9.8): "
        "3 day(s) from 2026-03-20 to 2026-03-24 are older than 2026-03-25 and are skipped, "
        "nothing is stored for them"
    )
    assert seed.tr_calls(meta, TREND.endpoint.tr_id) == 2
    assert wh.partitions(TABLE) == ["2026-03-25"]
    _assert_matches(wh.read(TABLE), market)


def test_a_malformed_record_is_refused_counted_and_fails_the_check(
    market: Market, tmp_path, monkeypatch
) -> None:
    bad_day = dt.date(2026, 11, 20)
    corrupt = Corruption("arbt_smtn_shnu_vol", "-7", "K", bad_day, TREND.endpoint.tr_id)
    config = dataclasses.replace(SIM_CONFIG, faults=FaultSpec(corrupt=(corrupt,)))
    with SimulatorServer(config) as server:
        wh = seed.use_simulator(monkeypatch, server, tmp_path, KIS_NOW=SIM_NOW.isoformat())
        seed.seed_calendar(wh, market, years=[2026])
        result = seed.run_assets(
            [ASSET], partition_range=("2026-11-19", "2026-11-20"), raise_on_error=False
        )
    checks = seed.check_evaluations(result)
    assert not checks[f"{TABLE}_no_rejects"].passed
    assert checks[f"{TABLE}_no_rejects"].metadata["offending_count"].value == 1
    assert not checks[f"{TABLE}_complete"].passed
    # Not stored as zeros: KOSPI's bad day is missing, its other day and KOSDAQ are there.
    assert wh.read(TABLE).select("date", "market").sort("date", "market").rows() == [
        (dt.date(2026, 11, 19), "KOSDAQ"),
        (dt.date(2026, 11, 19), "KOSPI"),
        (dt.date(2026, 11, 20), "KOSDAQ"),
    ]
    rejects = wh.read("rest_rejects").filter(pl.col("target_table") == TABLE)
    assert rejects.select("symbol", "date", "field").rows() == [
        ("KOSPI", bad_day, "arbt_smtn_shnu_vol")
    ]
