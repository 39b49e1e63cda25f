"""Bonus issues end to end against the simulator's truth: the KSD schedule lands in
`bonus_issues`, `corporate_actions` holds each issue once (the chart's ex-rights flag and the
KSD row, `chart,ksd`) with ratio 1 + fix_rate / 100 on the ex-rights date, and raw × our factor
is KIS's adjusted close across it; a garbled rate is refused into `rest_rejects` and becomes no
bonus issue; paper skips in one line."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.defs.corporate.actions import adj_factors, corporate_actions
from kis_pipeline.defs.corporate.bonus_issues import bonus_issues
from kis_pipeline.simulator.config import FaultSpec
from kis_pipeline.simulator.corrupt import Corruption
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG, own_simulator

CONFIG = seed.fast_config(SIM_CONFIG)
# The model's bonus issues: 100 % ex 2025-04-15 and 50 % ex 2026-02-10.
HUNDRED, FIFTY = "071620", "330790"
SPANS = {
    HUNDRED: (dt.date(2025, 4, 7), dt.date(2025, 4, 22)),
    FIFTY: (dt.date(2026, 2, 3), dt.date(2026, 2, 13)),
}
TR_ID = "HHKDB669101C0"

server, market = own_simulator(CONFIG)


def _warehouse(
    running: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str
) -> Warehouse:
    symbols = f"005930,{HUNDRED},{FIFTY}"
    market = running.state.market
    return seed.seeded_fast(monkeypatch, running, market, tmp_path, KIS_SYMBOLS=symbols, **env)


def test_each_bonus_issue_is_one_action_and_the_factors_reproduce_kis_adjusted_prices(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, tmp_path, monkeypatch)
    seed.run_prices(SPANS[HUNDRED], SPANS[FIFTY])
    for year in ("2025", "2026"):
        assert seed.run_assets([bonus_issues], partition_key=year).success
    truth = {b.symbol: b for b in market.bonus_issues()}
    stored = wh.read("bonus_issues").sort("record_date")
    assert stored.select("symbol", "ex_date", "fix_rate", "record_date", "list_date").rows() == [
        (s, truth[s].ex_date, truth[s].fix_rate, truth[s].record_date, truth[s].list_date)
        for s in (HUNDRED, FIFTY)
    ]

    result = seed.run_assets([corporate_actions, adj_factors])
    assert all(seed.checks_passed(result).values()), seed.checks_passed(result)
    actions = wh.read("corporate_actions").filter(pl.col("symbol").is_in([HUNDRED, FIFTY]))
    assert actions.select("symbol", "ex_date", "kind", "ratio", "record_date", "source").rows() == [
        (HUNDRED, dt.date(2025, 4, 15), "bonus_issue", 2.0, dt.date(2025, 4, 16), "chart,ksd"),
        (FIFTY, dt.date(2026, 2, 10), "bonus_issue", 1.5, dt.date(2026, 2, 11), "chart,ksd"),
    ]

    factors = wh.read("adj_factors")
    assert set(factors["symbol"].to_list()) == {HUNDRED, FIFTY}
    stored_days = [d for span in SPANS.values() for d in market.trading_days(*span)]
    raw = wh.read("daily_prices")
    kis = wh.read("daily_prices_adjusted")
    for symbol, ratio in ((HUNDRED, 2.0), (FIFTY, 1.5)):
        ex = truth[symbol].ex_date
        mine = factors.filter(pl.col("symbol") == symbol)
        assert mine["date"].to_list() == stored_days
        for day, factor in mine.select("date", "factor").iter_rows():
            assert factor == pytest.approx(1 / ratio if day < ex else 1.0)
        ours = (
            raw.filter(pl.col("symbol") == symbol)
            .join(mine, on=["date", "symbol"])
            .select("date", (pl.col("close") * pl.col("factor")).round(0).cast(pl.Int64))
            .sort("date")
        )
        theirs = kis.filter(pl.col("symbol") == symbol).select("date", "close").sort("date")
        assert (ours["close"] - theirs["close"]).abs().max() <= 1
        # The adjustment is real: before the ex date raw and adjusted differ by the ratio.
        before = raw.filter((pl.col("symbol") == symbol) & (pl.col("date") < ex))
        assert before.height > 0
        assert not before.sort("date")["close"].equals(theirs.filter(pl.col("date") < ex)["close"])


def test_without_the_schedule_the_chart_flag_alone_misreads_the_fifty_percent_issue(
    server: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the KSD schedule adds: the chart's rate has two decimals (0.67), so a 3-for-2 issue
    # read from it alone is off by more than rounding, and the check says so.
    wh = _warehouse(server, tmp_path, monkeypatch)
    seed.run_prices(SPANS[FIFTY])
    result = seed.run_assets([corporate_actions, adj_factors], raise_on_error=False)
    assert not seed.checks_passed(result)["adj_factors_match_kis"]
    chart = wh.read("corporate_actions").filter(pl.col("symbol") == FIFTY)
    assert chart.select("kind", "source").rows() == [("split", "chart")]


@pytest.fixture(scope="module")
def corrupt_server() -> Iterator[SimulatorServer]:
    bad = (Corruption("fix_rate", "1OO", HUNDRED, None, TR_ID),)
    with SimulatorServer(dataclasses.replace(CONFIG, faults=FaultSpec(corrupt=bad))) as running:
        yield running


def test_a_garbled_rate_is_refused_and_becomes_no_bonus_issue(
    corrupt_server: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(corrupt_server, tmp_path, monkeypatch)
    result = seed.run_assets([bonus_issues], partition_key="2025", raise_on_error=False)
    assert not seed.checks_passed(result)["bonus_issues_no_rejects"]
    assert HUNDRED not in wh.read("bonus_issues")["symbol"].to_list()
    rejects = wh.read("rest_rejects").filter(pl.col("target_table") == "bonus_issues")
    assert rejects["symbol"].to_list() == [HUNDRED]
    assert "fix_rate" in rejects["field"].to_list()[0]
    seed.run_assets([corporate_actions], raise_on_error=False)
    actions = wh.read("corporate_actions")
    assert actions.filter(pl.col("kind") == "bonus_issue").is_empty()


def test_paper_skips_in_one_line(
    server: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = seed.use_simulator(monkeypatch, server, tmp_path, KIS_ENV="paper")
    result = seed.run_assets([bonus_issues], partition_key="2025")
    reason = seed.materialization_metadata(result, "bonus_issues")["skipped"]
    assert reason == (
        "bonus_issues skipped: KIS's paper (mock) service has no ksdinfo/bonus-issue (SPEC §16)"
    )
    assert "\n" not in reason
    assert all(seed.checks_passed(result).values())
    assert wh.partitions("bonus_issues") == []
