"""`bond_info` against the simulator's treasuries: one call per bond, every term equal to the
model's (names, coupon, months between coupons, amounts, issue and maturity dates), stamped with
the run day; an unknown code is one line once the others are written; paper and a missing
KIS_BOND_SYMBOLS skip in one line; a garbled coupon is refused and fails the checks."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.cli.dagster_runner import step_errors
from kis_pipeline.common.clock import today_kst
from kis_pipeline.defs.market_activity.bond_info import bond_info
from kis_pipeline.simulator.corrupt import Corruption
from kis_pipeline.simulator.faults import FaultSpec
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_bonds import TREASURIES
from kis_pipeline.simulator.server import SimulatorServer
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG, SIM_NOW, own_simulator

CONFIG = seed.fast_config(SIM_CONFIG, universe=24)
server, market = own_simulator(CONFIG)
CODES = ",".join(bond.code for bond in TREASURIES)
TR_ID = "CTPF1101R"

_warehouse = seed.warehouse_at(SIM_NOW, unset=("KIS_BOND_SYMBOLS",))


def test_every_bonds_terms_are_the_models_one_call_each(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch, KIS_BOND_SYMBOLS=CODES)
    result = seed.run_assets([bond_info])
    checks = seed.check_evaluations(result)
    assert set(checks) == {f"bond_info_{n}" for n in ("unique_keys", "complete", "no_rejects")}
    assert all(c.passed for c in checks.values()), checks
    meta = seed.materialization_metadata(result, "bond_info")
    assert seed.tr_calls(meta, TR_ID) == len(TREASURIES) == meta["bonds"]
    as_of = today_kst()
    assert wh.partitions("bond_info") == [as_of.isoformat()]
    stored = wh.read("bond_info").sort("symbol")
    columns = ("as_of", "symbol", "name", "coupon_rate", "coupon_months", "issue_amount")
    dates = ("issue_date", "maturity_date", "redemption_date")
    assert stored.select(*columns, *dates).rows() == [
        (as_of, b.code, b.name, b.coupon, 6, b.outstanding, b.issued, b.maturity, b.maturity)
        for b in sorted(TREASURIES, key=lambda b: b.code)
    ]
    assert set(stored["face_value"]) == {10_000} and set(stored["issuer"]) == {"기획재정부"}
    # A rerun the same day replaces the day's partition: still one row per bond.
    seed.run_assets([bond_info])
    assert wh.read("bond_info").height == len(TREASURIES)


def test_an_unknown_bond_is_one_line_once_the_others_are_written(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch, KIS_BOND_SYMBOLS=f"{CODES},KR0000000000")
    result = seed.run_assets([bond_info], raise_on_error=False)
    errors = step_errors(result)
    assert len(errors) == 1 and "\n" not in errors[0]
    assert "KIS does not know KR0000000000" in errors[0] and "KIS_BOND_SYMBOLS" in errors[0]
    assert sorted(wh.read("bond_info")["symbol"]) == sorted(b.code for b in TREASURIES)


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"KIS_ENV": "paper", "KIS_BOND_SYMBOLS": CODES}, "paper (mock) service has no issue-info"),
        ({}, "bond_info skipped: KIS_BOND_SYMBOLS is not set"),
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
    result = seed.run_assets([bond_info])
    skipped = seed.materialization_metadata(result, "bond_info")["skipped"]
    assert reason in skipped and "\n" not in skipped
    assert wh.partitions("bond_info") == []


GARBLED = TREASURIES[1].code


@pytest.fixture(scope="module")
def corrupt_server() -> Iterator[SimulatorServer]:
    bad = (Corruption("srfc_inrt", "3.OO", GARBLED, None, TR_ID),)
    with SimulatorServer(dataclasses.replace(CONFIG, faults=FaultSpec(corrupt=bad))) as running:
        yield running


def test_a_garbled_coupon_is_refused_counted_and_fails_the_checks(
    corrupt_server: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = corrupt_server.state.market
    wh = _warehouse(corrupt_server, market, tmp_path, monkeypatch, KIS_BOND_SYMBOLS=CODES)
    result = seed.run_assets([bond_info], raise_on_error=False)
    checks = seed.check_evaluations(result)
    assert not checks["bond_info_no_rejects"].passed and not checks["bond_info_complete"].passed
    stored = wh.read("bond_info")
    assert GARBLED not in stored["symbol"].to_list() and stored.height == len(TREASURIES) - 1
    rejects = wh.read("rest_rejects").filter(pl.col("target_table") == "bond_info")
    assert rejects.select("symbol", "field").rows() == [(GARBLED, "srfc_inrt")]
