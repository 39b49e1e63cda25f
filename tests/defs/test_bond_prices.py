"""`bond_prices` against the simulator's treasury model: the bars of a week of sessions equal
the model's, one call per bond a day; a rerun writes the same rows; a day older than KIS's one
page is skipped in one line; an unknown code is one line once the others are written; paper
and a missing KIS_BOND_SYMBOLS skip in one line; a garbled bar is refused and fails its checks."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.cli.dagster_runner import step_errors
from kis_pipeline.defs.market_activity.bond_prices import bond_prices
from kis_pipeline.simulator.corrupt import Corruption
from kis_pipeline.simulator.faults import FaultSpec
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_bonds import TREASURIES, bond_bars
from kis_pipeline.simulator.server import SimulatorServer
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG, SIM_NOW, own_simulator

CONFIG = seed.fast_config(SIM_CONFIG, universe=24)
server, market = own_simulator(CONFIG)
CODES = ",".join(bond.code for bond in TREASURIES)
WEEK = ("2026-11-16", "2026-11-20")
TR_ID = "FHKBJ773701C0"

_warehouse = seed.warehouse_at(SIM_NOW, unset=("KIS_BOND_SYMBOLS",))


def _truth(market: Market, days: list[dt.date]) -> pl.DataFrame:
    sessions = market.trading_days(market.config.start, market.last_completed_session())
    rows = [
        {
            "date": bar.day,
            "symbol": bond.code,
            "open": round(bar.open, 2),
            "high": round(bar.high, 2),
            "low": round(bar.low, 2),
            "close": round(bar.close, 2),
            "volume": bar.volume,
        }
        for bond in TREASURIES
        for bar in bond_bars(market.config.seed, bond, sessions)
        if bar.day in days
    ]
    return pl.DataFrame(rows).sort("date", "symbol")


def _stored(wh) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    frame = wh.read("bond_prices").sort("date", "symbol")
    return frame.with_columns(pl.col("open", "high", "low", "close").round(2))


def _run_week() -> list[dict[str, object]]:
    """One run per session of the week, as the schedule makes them; their metadata."""
    days = market_days()
    out = []
    for day in days:
        result = seed.run_assets([bond_prices], partition_key=day.isoformat())
        checks = seed.check_evaluations(result)
        assert checks and all(c.passed for c in checks.values()), day
        out.append(seed.materialization_metadata(result, "bond_prices"))
    return out


def market_days() -> list[dt.date]:
    return [dt.date(2026, 11, d) for d in range(16, 21)]


def test_a_week_of_bond_bars_equals_the_model_and_a_rerun_changes_nothing(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch, KIS_BOND_SYMBOLS=CODES)
    assert all(market.is_trading_day(d) for d in market_days())
    metas = _run_week()
    assert [seed.tr_calls(m, TR_ID) for m in metas] == [len(TREASURIES)] * 5
    truth = _truth(market, market_days())
    assert truth.height == 5 * len(TREASURIES)
    assert _stored(wh).select(truth.columns).equals(truth)
    _run_week()
    assert _stored(wh).select(truth.columns).equals(truth)


def test_a_day_older_than_the_answer_is_skipped_in_one_line(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch, KIS_BOND_SYMBOLS=CODES)
    result = seed.run_assets([bond_prices], partition_key="2026-08-03")
    meta = seed.materialization_metadata(result, "bond_prices")
    assert meta["skipped"].startswith(
        "bond_prices skipped: 2026-08-03 is older than the sessions KIS answers in one call"
    )
    assert wh.partitions("bond_prices") == []


def test_an_unknown_bond_is_one_line_once_the_others_are_written(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch, KIS_BOND_SYMBOLS=f"{CODES},KR0000000000")
    result = seed.run_assets([bond_prices], partition_key="2026-11-20", raise_on_error=False)
    errors = step_errors(result)
    assert len(errors) == 1 and "KIS does not know KR0000000000" in errors[0]
    assert "check KIS_BOND_SYMBOLS" in errors[0]
    assert sorted(wh.read("bond_prices")["symbol"]) == sorted(b.code for b in TREASURIES)


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"KIS_ENV": "paper", "KIS_BOND_SYMBOLS": CODES}, "paper (mock) service has no"),
        ({}, "KIS_BOND_SYMBOLS is not set"),
    ],
)
def test_paper_and_an_empty_watchlist_skip_in_one_line(
    server: SimulatorServer,
    market: Market,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    reason: str,
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch, **env)
    result = seed.run_assets([bond_prices], partition_key="2026-11-20")
    assert reason in seed.materialization_metadata(result, "bond_prices")["skipped"]
    assert wh.partitions("bond_prices") == []


GARBLED = TREASURIES[0].code


@pytest.fixture(scope="module")
def corrupt_server() -> Iterator[SimulatorServer]:
    bad = (Corruption("bond_prpr", "n/a", GARBLED, None, TR_ID),)
    with SimulatorServer(dataclasses.replace(CONFIG, faults=FaultSpec(corrupt=bad))) as running:
        yield running


def test_a_garbled_bar_is_refused_counted_and_fails_the_checks(
    corrupt_server: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = corrupt_server.state.market
    wh = _warehouse(corrupt_server, market, tmp_path, monkeypatch, KIS_BOND_SYMBOLS=CODES)
    result = seed.run_assets([bond_prices], partition_key="2026-11-20", raise_on_error=False)
    checks = seed.check_evaluations(result)
    assert not checks["bond_prices_no_rejects"].passed
    assert not checks["bond_prices_complete"].passed
    stored = wh.read("bond_prices")
    assert GARBLED not in stored["symbol"].to_list() and stored.height == len(TREASURIES) - 1
    rejects = wh.read("rest_rejects").filter(pl.col("target_table") == "bond_prices")
    assert set(rejects["symbol"]) == {GARBLED}
