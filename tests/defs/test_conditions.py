"""Condition search (`KIS_CONDITION`, SPEC §7.12) against the simulator's saved conditions: the
screen stored as it matched, best first, in two calls; the minute-bar watchlist taken from it;
an unknown condition and a missing setting in one line each."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.cli.dagster_runner import step_errors
from kis_pipeline.defs.intraday.minute_bars import minute_bars
from kis_pipeline.defs.universe.conditions import condition_results
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.rest_conditions import SAVED, matches
from kis_pipeline.simulator.rest_market import MarketView
from kis_pipeline.simulator.server import SimulatorServer
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG, SIM_NOW, own_simulator

server, market = own_simulator(seed.fast_config(SIM_CONFIG, universe=24))
DAY = SIM_NOW.date()


_warehouse = seed.warehouse_at(SIM_NOW, unset=("KIS_CONDITION", "KIS_HTS_ID", "KIS_MINUTE_SYMBOLS"))


@pytest.mark.parametrize("seq", sorted(SAVED))
def test_the_screen_is_stored_as_it_matched_best_first(
    server: SimulatorServer,
    market: Market,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    seq: str,
) -> None:
    name = SAVED[seq][1]
    wh = _warehouse(server, market, tmp_path, monkeypatch, KIS_CONDITION=name)
    result = seed.run_assets([condition_results])
    checks = seed.check_evaluations(result)
    assert checks and all(c.passed for c in checks.values())
    meta = seed.materialization_metadata(result, "condition_results")
    assert seed.tr_calls(meta, "HHKST03900300") == 1 and seed.tr_calls(meta, "HHKST03900400") == 1
    truth = matches(MarketView(market), seq)
    stored = wh.read("condition_results").sort("rank")
    assert stored["symbol"].to_list() == [m.symbol for m in truth]
    assert stored["rank"].to_list() == list(range(1, len(truth) + 1))
    assert set(stored["as_of"]) <= {DAY} and set(stored["condition"]) <= {name}
    for row, m in zip(stored.iter_rows(named=True), truth, strict=True):
        assert row["price"] == m.bar.close and row["value"] == m.bar.value
        # KRW 100 million at KIS (four decimals), KRW here.
        assert row["market_cap"] == pytest.approx(m.bar.close * m.listed_shares, rel=1e-9)


def test_the_minute_bar_watchlist_is_the_days_screen(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch, KIS_CONDITION=SAVED["1"][1])
    seed.seed_daily_prices(wh, market, [DAY])
    seed.run_assets([condition_results])
    screen = wh.read("condition_results")["symbol"].to_list()
    assert 0 < len(screen) < len(market.listings), "the screen should pick some names, not all"
    seed.run_assets([minute_bars], partition_key=DAY.isoformat())
    assert sorted(wh.read("minute_bars")["symbol"].unique()) == sorted(screen)


def test_an_unknown_condition_is_one_line_naming_the_saved_ones(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch, KIS_CONDITION="no such screen")
    failed = seed.run_assets([condition_results], raise_on_error=False)
    errors = step_errors(failed)
    assert len(errors) == 1, errors
    assert "'no such screen' is not a condition" in errors[0]
    assert all(name in errors[0] for _, name, _ in SAVED.values())
    assert not wh.partitions("condition_results")


def test_without_a_condition_the_run_says_why_it_stores_nothing(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch)
    result = seed.run_assets([condition_results])
    meta = seed.materialization_metadata(result, "condition_results")
    assert meta["skipped"].startswith("condition_results skipped: KIS_CONDITION is not set")
    assert not wh.partitions("condition_results")
    assert wh.read("condition_results").filter(pl.col("as_of") == dt.date(2026, 11, 20)).is_empty()
