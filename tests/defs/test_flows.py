"""Investor flows against the simulator: one call per symbol (or market) per 30 sessions of a
run, the nightly run re-pulling the day before (figures settle on D+1), closed days free, and
the same warehouse whether or not the gateway misbehaves along the way."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import dagster as dg
import polars as pl
import pytest

from kis_pipeline.defs.flows import investor_flows, market_investor_flows
from kis_pipeline.defs.flows.assets import RUN_WEEKDAYS, netting_offenders
from kis_pipeline.defs.flows.schedules import flows_schedule, nightly_range
from kis_pipeline.defs.resources import RESOURCES
from kis_pipeline.kis import schemas
from kis_pipeline.simulator.config import FaultSpec
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs.seed import (
    check_evaluations,
    materialization_metadata,
    run_assets,
    seed_calendar,
    seed_symbols,
    tr_calls,
    use_simulator,
)
from tests.helpers.simulator import SIM_CONFIG

STOCK_TR = "FHPTJ04160001"
MARKET_TR = "FHPTJ04040000"
SYMBOLS = ("005930", "000660", "035420", "005380", "000270")
NETS = ("individual", "foreign", "institution")


def _seeded(
    monkeypatch, server: SimulatorServer, tmp_path, market: Market, **env: str
) -> Warehouse:
    wh = use_simulator(monkeypatch, server, tmp_path, **env)
    seed_calendar(wh, market, years=[2026])
    seed_symbols(wh, market, dt.date(2026, 11, 20))
    return wh


@pytest.fixture
def wh(wh: Warehouse, market: Market, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    """The shared warehouse with 2026's calendar and the universe seeded, the run limited to
    `SYMBOLS`."""
    monkeypatch.setenv("KIS_SYMBOLS", ",".join(SYMBOLS))
    seed_calendar(wh, market, years=[2026])
    seed_symbols(wh, market, dt.date(2026, 11, 20))
    return wh


def _assert_stock_flows_match(frame: pl.DataFrame, market: Market) -> None:
    assert frame.height > 0
    for row in frame.iter_rows(named=True):
        truth = market.investor_flow(row["symbol"], row["date"])
        assert truth is not None
        for group in NETS:
            assert row[f"{group}_net_volume"] == getattr(truth, f"{group}_net_volume")
            # KIS reports amounts in KRW millions.
            assert abs(row[f"{group}_net_value"] - getattr(truth, f"{group}_net_value")) <= 1e6
        bar = market.bar(row["symbol"], row["date"])
        assert bar is not None and (row["close"], row["volume"]) == (bar.close, bar.volume)


def test_nightly_range_is_one_call_per_symbol_and_matches_the_market(
    wh: Warehouse, market: Market
) -> None:
    result = run_assets([investor_flows], partition_range=("2026-11-19", "2026-11-20"))
    meta = materialization_metadata(result, "investor_flows")
    assert tr_calls(meta, STOCK_TR) == len(SYMBOLS)
    checks = check_evaluations(result)
    assert all(e.passed for e in checks.values()), checks
    frame = wh.read("investor_flows")
    assert sorted(set(frame["date"].to_list())) == [dt.date(2026, 11, 19), dt.date(2026, 11, 20)]
    assert frame.height == 2 * len(SYMBOLS)
    _assert_stock_flows_match(frame, market)


def test_market_flows_match_the_market(wh: Warehouse, market: Market) -> None:
    result = run_assets([market_investor_flows], partition_range=("2026-11-16", "2026-11-20"))
    meta = materialization_metadata(result, "market_investor_flows")
    assert tr_calls(meta, MARKET_TR) == 2
    assert all(e.passed for e in check_evaluations(result).values())
    frame = wh.read("market_investor_flows")
    assert frame.height == 10
    for row in frame.iter_rows(named=True):
        truth = market.market_investor_flow(row["market"], row["date"])
        assert truth is not None
        for group in NETS:
            # KIS reports market volumes in thousands of shares and amounts in KRW millions.
            assert abs(row[f"{group}_net_volume"] - getattr(truth, f"{group}_net_volume")) <= 1e3
            assert abs(row[f"{group}_net_value"] - getattr(truth, f"{group}_net_value")) <= 1e6


def test_the_night_of_d_rewrites_d_minus_one_with_settled_figures(
    wh: Warehouse, market: Market
) -> None:
    # Night of 11-19: [11-18, 11-19]. Pretend 11-19 was provisional then.
    assert nightly_range(wh, dt.date(2026, 11, 19)) == (
        dt.date(2026, 11, 18),
        dt.date(2026, 11, 19),
    )
    run_assets([investor_flows], partition_range=("2026-11-18", "2026-11-19"))
    provisional = wh.read("investor_flows", ["2026-11-19"]).with_columns(
        pl.col("foreign_net_volume") + 1_000, pl.col("individual_net_volume") - 1_000
    )
    wh.write_partition("investor_flows", "2026-11-19", provisional)

    # Night of 11-20: the schedule asks for [11-19, 11-20], still one call per symbol.
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 11, 20, 18, 40, tzinfo=market.now().tzinfo),
        resources={"warehouse": RESOURCES["warehouse"]},
    )
    request = flows_schedule(context)
    assert request.tags["dagster/asset_partition_range_start"] == "2026-11-19"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-11-20"
    result = run_assets(
        [investor_flows],
        partition_range=("2026-11-19", "2026-11-20"),
    )
    assert tr_calls(materialization_metadata(result, "investor_flows"), STOCK_TR) == len(SYMBOLS)
    settled = wh.read("investor_flows", ["2026-11-19"])
    assert not settled.equals(provisional)
    _assert_stock_flows_match(settled, market)
    # Each partition holds one file: the re-pull replaced, never appended.
    assert wh.read("investor_flows").height == 3 * len(SYMBOLS)


def test_backfill_window_is_one_call_per_symbol_and_holidays_are_empty(
    wh: Warehouse, market: Market
) -> None:
    # A run may hold a year of days: a backfill is not cut into runs of 30.
    assert investor_flows.backfill_policy.max_partitions_per_run == RUN_WEEKDAYS
    # 30 weekdays with Chuseok (9/24, 9/25), 10/5 and Hangul Day (10/9) inside.
    result = run_assets([investor_flows], partition_range=("2026-09-21", "2026-10-30"))
    meta = materialization_metadata(result, "investor_flows")
    assert tr_calls(meta, STOCK_TR) == len(SYMBOLS)
    assert meta["partitions_written"] == 30
    frame = wh.read("investor_flows")
    sessions = market.trading_days(dt.date(2026, 9, 21), dt.date(2026, 10, 30))
    assert sorted(set(frame["date"].to_list())) == sessions
    for holiday in ("2026-09-24", "2026-09-25", "2026-10-05", "2026-10-09"):
        assert holiday in wh.partitions("investor_flows")
        assert wh.read("investor_flows", [holiday]).is_empty()


def test_a_longer_run_walks_back_one_call_per_30_sessions(wh: Warehouse, market: Market) -> None:
    # 2026-08-03..2026-11-20: 80 weekdays, 75 sessions (8/17 for Liberation Day, Chuseok,
    # 10/5, Hangul Day closed) -> three calls per symbol and market, all in one run.
    days = ("2026-08-03", "2026-11-20")
    sessions = market.trading_days(dt.date(2026, 8, 3), dt.date(2026, 11, 20))
    result = run_assets([investor_flows, market_investor_flows], partition_range=days)
    pages = -(-len(sessions) // 30)
    stock = materialization_metadata(result, "investor_flows")
    assert tr_calls(stock, STOCK_TR) == len(SYMBOLS) * pages
    assert tr_calls(materialization_metadata(result, "market_investor_flows"), MARKET_TR) == (
        2 * pages
    )
    frame = wh.read("investor_flows")
    assert sorted(set(frame["date"].to_list())) == sessions
    assert frame.height == len(sessions) * len(SYMBOLS)
    _assert_stock_flows_match(frame, market)


def test_closed_days_make_no_calls(wh: Warehouse) -> None:
    result = run_assets([investor_flows, market_investor_flows], partition_key="2026-09-24")
    for asset in ("investor_flows", "market_investor_flows"):
        assert materialization_metadata(result, asset)["calls"] == 0
        assert wh.partitions(asset) == ["2026-09-24"]


def test_rerun_is_idempotent(wh: Warehouse) -> None:
    days = ("2026-11-16", "2026-11-20")
    run_assets([investor_flows, market_investor_flows], partition_range=days)
    first = {t: wh.read(t) for t in ("investor_flows", "market_investor_flows")}
    files = {t: len(wh.partitions(t)) for t in first}
    run_assets([investor_flows, market_investor_flows], partition_range=days)
    for table, frame in first.items():
        assert (
            wh.read(table)
            .sort("date", frame.columns[1])
            .equals(frame.sort("date", frame.columns[1]))
        )
        assert len(wh.partitions(table)) == files[table] == 5


@pytest.fixture
def faulty_server() -> Iterator[SimulatorServer]:
    faults = FaultSpec(http500=0.1, egw00201=0.1)
    with SimulatorServer(dataclasses.replace(SIM_CONFIG, faults=faults)) as server:
        yield server


def test_a_faulty_gateway_gives_the_same_warehouse(
    sim_server: SimulatorServer,
    faulty_server: SimulatorServer,
    market: Market,
    tmp_path,
    monkeypatch,
) -> None:
    symbols = ",".join(x.symbol for x in market.listings[:12])
    days = ("2026-11-16", "2026-11-20")
    tables = ("investor_flows", "market_investor_flows")
    frames = []
    for name, server in (("clean", sim_server), ("faulty", faulty_server)):
        wh = _seeded(monkeypatch, server, tmp_path / name, market, KIS_SYMBOLS=symbols)
        result = run_assets([investor_flows, market_investor_flows], partition_range=days)
        assert result.success
        frames.append({t: wh.read(t).sort("date", wh.read(t).columns[1]) for t in tables})
    faults = faulty_server.stats()["faults"]
    assert sum(faults.values()) > 0, faults
    for table in tables:
        assert frames[0][table].height > 0
        assert frames[0][table].equals(frames[1][table]), table


def test_paper_skips_with_a_reason(sim_server: SimulatorServer, tmp_path, monkeypatch) -> None:
    # KIS's mock service has no investor-flow endpoints (SPEC §16).
    wh = use_simulator(monkeypatch, sim_server, tmp_path, KIS_ENV="paper")
    result = run_assets([investor_flows, market_investor_flows], partition_key="2026-11-20")
    for asset in ("investor_flows", "market_investor_flows"):
        meta = materialization_metadata(result, asset)
        assert "paper (mock) service has no" in meta["skipped"]
        assert wh.partitions(asset) == []


def test_netting_check_flags_rows_that_do_not_net_to_zero() -> None:
    nets = {f"{g}_net_volume": [0] for g in schemas.INVESTOR_GROUPS}
    balanced = {**nets, "individual_net_volume": [-500], "foreign_net_volume": [300]}
    balanced |= {"institution_net_volume": [150], "other_net_volume": [50]}
    frame = pl.DataFrame(
        {"date": [dt.date(2026, 11, 20)], "symbol": ["005930"], **balanced}
    ).vstack(
        pl.DataFrame(
            {"date": [dt.date(2026, 11, 20)], "symbol": ["000660"], **balanced}
        ).with_columns(pl.col("foreign_net_volume") + 100)
    )
    offenders = netting_offenders(frame, "symbol", unit=1)
    assert offenders.rows() == [(dt.date(2026, 11, 20), "000660", 100)]


def test_netting_allows_the_rounding_of_bought_and_sold_thousands_but_no_more() -> None:
    # A small KOSDAQ day of the ten-year soak, in thousands of shares: each group's net is
    # its bought less its sold quantity, each rounded, so the four may be up to 4,000 off.
    nets = {f"{g}_net_volume": [0] for g in schemas.INVESTOR_GROUPS}
    day = {**nets, "individual_net_volume": [-4_000], "foreign_net_volume": [-13_000]}
    day |= {"institution_net_volume": [-2_000], "other_net_volume": [22_000]}
    rounded = pl.DataFrame({"date": [dt.date(2021, 5, 18)], "market": ["KOSDAQ"], **day})
    assert netting_offenders(rounded, "market", unit=1_000).is_empty()
    wrong = rounded.with_columns(pl.col("foreign_net_volume") + 2_000)
    assert netting_offenders(wrong, "market", unit=1_000)["imbalance"].to_list() == [5_000]


def test_a_rejected_symbol_keeps_its_stored_rows_and_the_run_records_nothing(
    sim_server: SimulatorServer, market: Market, tmp_path, monkeypatch
) -> None:
    wh = _seeded(monkeypatch, sim_server, tmp_path, market, KIS_SYMBOLS=",".join(SYMBOLS))
    day = "2026-11-19"
    run_assets([investor_flows], partition_key=day)
    # A code KIS does not know, with rows stored by an earlier run.
    ghost = "999990"
    stored = wh.read("investor_flows", [day])
    stored = pl.concat([stored, stored.head(1).with_columns(symbol=pl.lit(ghost))])
    wh.write_partition("investor_flows", day, stored)
    snapshot = wh.partitions("symbols")[-1]
    listing = wh.read("symbols", [snapshot])
    wh.write_partition(
        "symbols",
        snapshot,
        pl.concat([listing, listing.head(1).with_columns(symbol=pl.lit(ghost))]),
    )
    monkeypatch.setenv("KIS_SYMBOLS", ",".join((*SYMBOLS, ghost)))

    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [investor_flows],
            resources=RESOURCES,
            partition_key=day,
            instance=instance,
            raise_on_error=False,
        )
        assert instance.get_materialized_partitions(investor_flows.key) == set()
    assert not result.success
    message = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert ghost in message.description
    assert wh.read("investor_flows", [day]).sort("symbol").equals(stored.sort("symbol"))
