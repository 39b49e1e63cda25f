"""Capital reductions end to end against the simulator's truth: the KSD schedule lands in
`capital_reductions`, `corporate_actions` holds the reduction once (the chart's flag on the
relisting day and the KSD row, `chart,ksd`) with the kept ratio on the relisting day, and raw ×
our factor is KIS's adjusted close across it; a garbled ratio is refused into `rest_rejects`
and becomes no capital reduction; paper skips in one line."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.defs.corporate.actions import adj_factors, corporate_actions
from kis_pipeline.defs.corporate.capital_reductions import capital_reductions
from kis_pipeline.simulator.config import FaultSpec
from kis_pipeline.simulator.corrupt import Corruption
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG, own_simulator

CONFIG = seed.fast_config(SIM_CONFIG)
# The model's capital reduction: 10 old shares to 1, relisted 2025-09-22.
SYMBOL = "149240"
RELISTED = dt.date(2025, 9, 22)
SPAN = (dt.date(2025, 9, 15), dt.date(2025, 9, 26))
TR_ID = "HHKDB669106C0"

server, market = own_simulator(CONFIG)


def _warehouse(
    running: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Warehouse:
    market = running.state.market
    return seed.seeded_fast(monkeypatch, running, market, tmp_path, KIS_SYMBOLS=f"005930,{SYMBOL}")


def test_the_reduction_is_one_action_and_the_factors_reproduce_kis_adjusted_prices(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, tmp_path, monkeypatch)
    seed.run_prices(SPAN)
    assert seed.run_assets([capital_reductions], partition_key="2025").success
    (truth,) = market.capital_reductions()
    stored = wh.read("capital_reductions")
    assert stored.select("symbol", "record_date", "kept_ratio", "list_date").rows() == [
        (SYMBOL, truth.record_date, 0.1, RELISTED)
    ]

    result = seed.run_assets([corporate_actions, adj_factors])
    assert all(seed.checks_passed(result).values()), seed.checks_passed(result)
    actions = wh.read("corporate_actions").filter(pl.col("symbol") == SYMBOL)
    assert actions.select("symbol", "ex_date", "kind", "ratio", "record_date", "source").rows() == [
        (SYMBOL, RELISTED, "capital_reduction", 0.1, truth.record_date, "chart,ksd")
    ]

    mine = wh.read("adj_factors").filter(pl.col("symbol") == SYMBOL)
    assert mine["date"].to_list() == market.trading_days(*SPAN)
    for day, factor in mine.select("date", "factor").iter_rows():
        assert factor == pytest.approx(10.0 if day < RELISTED else 1.0)
    raw = wh.read("daily_prices").filter(pl.col("symbol") == SYMBOL)
    ours = (
        raw.join(mine, on=["date", "symbol"])
        .select("date", (pl.col("close") * pl.col("factor")).round(0).cast(pl.Int64))
        .sort("date")
    )
    theirs = wh.read("daily_prices_adjusted").filter(pl.col("symbol") == SYMBOL)
    theirs = theirs.select("date", "close").sort("date")
    assert (ours["close"] - theirs["close"]).abs().max() <= 1
    # The adjustment is real: before the relisting raw and adjusted differ tenfold.
    before = raw.filter(pl.col("date") < RELISTED).sort("date")
    assert before.height > 0
    assert not before["close"].equals(theirs.filter(pl.col("date") < RELISTED)["close"])


@pytest.fixture(scope="module")
def corrupt_server() -> Iterator[SimulatorServer]:
    bad = (Corruption("reduce_cap_rate", "O.1", SYMBOL, None, TR_ID),)
    with SimulatorServer(dataclasses.replace(CONFIG, faults=FaultSpec(corrupt=bad))) as running:
        yield running


def test_a_garbled_ratio_is_refused_and_becomes_no_capital_reduction(
    corrupt_server: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(corrupt_server, tmp_path, monkeypatch)
    result = seed.run_assets([capital_reductions], partition_key="2025", raise_on_error=False)
    assert not seed.checks_passed(result)["capital_reductions_no_rejects"]
    assert wh.read("capital_reductions").is_empty()
    rejects = wh.read("rest_rejects").filter(pl.col("target_table") == "capital_reductions")
    assert rejects.select("symbol", "field").rows() == [(SYMBOL, "reduce_cap_rate")]
    seed.run_assets([corporate_actions], raise_on_error=False)
    actions = wh.read("corporate_actions")
    assert actions.filter(pl.col("kind") == "capital_reduction").is_empty()


def test_paper_skips_in_one_line(
    server: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = seed.use_simulator(monkeypatch, server, tmp_path, KIS_ENV="paper")
    result = seed.run_assets([capital_reductions], partition_key="2025")
    reason = seed.materialization_metadata(result, "capital_reductions")["skipped"]
    assert reason == (
        "capital_reductions skipped: KIS's paper (mock) service has no ksdinfo/cap-dcrs (SPEC §16)"
    )
    assert "\n" not in reason
    assert all(seed.checks_passed(result).values())
    assert wh.partitions("capital_reductions") == []
