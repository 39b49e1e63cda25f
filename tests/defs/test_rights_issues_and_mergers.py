"""Rights issues and mergers end to end against the simulator's truth: the KSD schedules land
in `rights_issues` and `mergers`; `corporate_actions` holds the rights issue once (the chart's
ex-rights flag and the KSD row, `chart,ksd`) with its ratio, issue price and the exact
theoretical ex-rights factor, and raw × our factor is KIS's adjusted close across it; the
merger is a row of its own that moves no factor; a garbled issue price or merger ratio is
refused into `rest_rejects` and becomes no action; paper skips in one line."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from kis_pipeline.common import krx_calendar
from kis_pipeline.defs.corporate.actions import adj_factors, corporate_actions
from kis_pipeline.defs.corporate.mergers import mergers
from kis_pipeline.defs.corporate.rights_issues import rights_issues
from kis_pipeline.simulator.config import FaultSpec
from kis_pipeline.simulator.corrupt import Corruption
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG, own_simulator

CONFIG = seed.fast_config(SIM_CONFIG)
# The model's rights issue (30 new per 100 old at 20 % off, ex 2025-06-17) and merger (new
# shares listed 2025-11-03).
RIGHTS, MERGED = "388290", "400790"
EX, LISTED = dt.date(2025, 6, 17), dt.date(2025, 11, 3)
SPANS = (
    (dt.date(2025, 6, 9), dt.date(2025, 6, 20)),
    (dt.date(2025, 10, 27), dt.date(2025, 11, 7)),
)

server, market = own_simulator(CONFIG)


def _warehouse(
    running: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str
) -> Warehouse:
    symbols = f"005930,{RIGHTS},{MERGED}"
    market = running.state.market
    return seed.seeded_fast(monkeypatch, running, market, tmp_path, KIS_SYMBOLS=symbols, **env)


def test_the_rights_issue_and_the_merger_are_actions_and_the_factors_reproduce_kis(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, tmp_path, monkeypatch)
    seed.run_prices(*SPANS)
    assert seed.run_assets([rights_issues, mergers], partition_key="2025").success
    (issue,) = market.rights_issues()
    stored = wh.read("rights_issues")
    assert stored.select(
        "symbol", "ex_date", "fix_rate", "discount_rate", "issue_price", "list_date"
    ).rows() == [(RIGHTS, EX, 30.0, 20.0, issue.issue_price, issue.list_date)]
    (merger,) = market.mergers()
    stored = wh.read("mergers")
    assert stored.select("symbol", "ratio", "list_date", "new_shares", "absorbed_code").rows() == [
        (MERGED, 0.4, LISTED, 3_600_000, merger.absorbed)
    ]

    result = seed.run_assets([corporate_actions, adj_factors])
    assert all(seed.checks_passed(result).values()), seed.checks_passed(result)
    raw = wh.read("daily_prices")
    cum = raw.filter(
        (pl.col("symbol") == RIGHTS) & (pl.col("date") == krx_calendar.previous_trading_day(EX))
    )["close"].item()
    terp = (cum + issue.issue_price * 0.3) / 1.3
    actions = wh.read("corporate_actions").filter(pl.col("symbol").is_in([RIGHTS, MERGED]))
    columns = ("symbol", "ex_date", "kind", "ratio", "issue_price", "counterparty", "source")
    assert actions.select(*columns).rows() == [
        (RIGHTS, EX, "rights_issue", 1.3, issue.issue_price, None, "chart,ksd"),
        (MERGED, LISTED, "merger", 0.4, None, merger.absorbed, "ksd"),
    ]
    factor = actions.filter(pl.col("kind") == "rights_issue")["price_factor"].item()
    assert factor == pytest.approx(terp / cum, rel=1e-12)

    # A merger into a listed name moves no price: only the rights issue has factors.
    factors = wh.read("adj_factors")
    assert set(factors["symbol"].to_list()) == {RIGHTS}
    mine = factors.filter(pl.col("symbol") == RIGHTS)
    assert mine["date"].to_list() == [d for span in SPANS for d in market.trading_days(*span)]
    for day, value in mine.select("date", "factor").iter_rows():
        assert value == pytest.approx(terp / cum if day < EX else 1.0)
    ours = (
        raw.filter(pl.col("symbol") == RIGHTS)
        .join(mine, on=["date", "symbol"])
        .select("date", (pl.col("close") * pl.col("factor")).round(0).cast(pl.Int64))
        .sort("date")
    )
    kis = wh.read("daily_prices_adjusted").filter(pl.col("symbol") == RIGHTS)
    theirs = kis.select("date", "close").sort("date")
    assert (ours["close"] - theirs["close"]).abs().max() <= 1
    # The adjustment is real: before the ex date raw and adjusted differ.
    before = raw.filter((pl.col("symbol") == RIGHTS) & (pl.col("date") < EX)).sort("date")
    assert not before["close"].equals(theirs.filter(pl.col("date") < EX)["close"])


def test_without_the_schedule_the_rights_day_reads_as_a_split_by_the_charts_rounded_rate(
    server: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The chart's two-decimal rate (0.95 for 0.9538) is off by more than rounding: the KSD's
    # issue price is what makes the adjustment reproducible, and the check says so.
    wh = _warehouse(server, tmp_path, monkeypatch)
    seed.run_prices(*SPANS)
    result = seed.run_assets([corporate_actions, adj_factors], raise_on_error=False)
    assert not seed.checks_passed(result)["adj_factors_match_kis"]
    chart = wh.read("corporate_actions").filter(pl.col("symbol") == RIGHTS)
    assert chart.select("kind", "source").rows() == [("split", "chart")]


@pytest.fixture(scope="module")
def corrupt_server() -> Iterator[SimulatorServer]:
    bad = (
        Corruption("fix_price", "85O0", RIGHTS, None, "HHKDB669100C0"),
        Corruption("merge_rate", "0.4.0", MERGED, None, "HHKDB669104C0"),
    )
    with SimulatorServer(dataclasses.replace(CONFIG, faults=FaultSpec(corrupt=bad))) as running:
        yield running


def test_a_garbled_price_or_ratio_is_refused_and_becomes_no_action(
    corrupt_server: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(corrupt_server, tmp_path, monkeypatch)
    result = seed.run_assets([rights_issues, mergers], partition_key="2025", raise_on_error=False)
    checks = seed.checks_passed(result)
    assert not checks["rights_issues_no_rejects"] and not checks["mergers_no_rejects"]
    assert wh.read("rights_issues").is_empty() and wh.read("mergers").is_empty()
    rejects = wh.read("rest_rejects").sort("target_table")
    assert rejects.select("target_table", "symbol", "field").rows() == [
        ("mergers", MERGED, "merge_rate"),
        ("rights_issues", RIGHTS, "fix_price"),
    ]
    seed.run_assets([corporate_actions], raise_on_error=False)
    kinds = wh.read("corporate_actions")["kind"].to_list()
    assert "rights_issue" not in kinds and "merger" not in kinds


@pytest.mark.parametrize(
    ("asset", "endpoint"),
    [(rights_issues, "ksdinfo/paidin-capin"), (mergers, "ksdinfo/merger-split")],
)
def test_paper_skips_in_one_line(
    server: SimulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    asset: dg.AssetsDefinition,
    endpoint: str,
) -> None:
    wh = seed.use_simulator(monkeypatch, server, tmp_path, KIS_ENV="paper")
    table = asset.key.to_user_string()
    result = seed.run_assets([asset], partition_key="2025")
    reason = seed.materialization_metadata(result, table)["skipped"]
    assert reason == f"{table} skipped: KIS's paper (mock) service has no {endpoint} (SPEC §16)"
    assert all(seed.checks_passed(result).values())
    assert wh.partitions(table) == []
