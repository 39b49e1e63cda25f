"""The market activity families against the simulator's truth: every family declared once and
built by the factory, one call per symbol for a night, the rows KIS sent stored in shares and
KRW, closed days free, and a malformed record refused and counted instead of stored."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import polars as pl
import pytest

from kis_pipeline.defs.market_activity.assets import BUILT
from kis_pipeline.kis.endpoints.trends import ALL_TRENDS, TRENDS
from kis_pipeline.simulator.config import FaultSpec
from kis_pipeline.simulator.corrupt import Corruption
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_activity import Activity
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG, SIM_NOW

SYMBOLS = ("005930", "000660", "035420")
NIGHT = ("2026-11-19", "2026-11-20")


def _program(row: dict[str, Any], a: Activity, bar: Any) -> dict[str, Any]:
    return {
        "buy_volume": a.program_buy_volume,
        "sell_volume": a.program_sell_volume,
        "net_volume": a.program_net_volume,
        "buy_value": a.program_buy_value,
        "sell_value": a.program_sell_value,
        "net_value": a.program_net_value,
        "value": bar.value,
    }


def _credit(row: dict[str, Any], a: Activity, bar: Any) -> dict[str, Any]:
    return {
        "loan_new_volume": a.loan.new,
        "loan_repaid_volume": a.loan.repaid,
        "loan_balance_volume": a.loan.balance,
        "loan_balance_value": a.loan.balance * bar.close,
        "stock_loan_balance_volume": a.stock_loan.balance,
        "high": bar.high,
    }


def _short(row: dict[str, Any], a: Activity, bar: Any) -> dict[str, Any]:
    return {"short_volume": a.short_volume, "short_value": a.short_value, "value": bar.value}


def _lending(row: dict[str, Any], a: Activity, bar: Any) -> dict[str, Any]:
    return {
        "new_volume": a.lending.new,
        "repaid_volume": a.lending.repaid,
        "balance_change": a.lending.new - a.lending.repaid,
        "balance_volume": a.lending.balance,
        "balance_value": a.lending.balance * bar.close,
    }


def _sides(row: dict[str, Any], a: Activity, bar: Any) -> dict[str, Any]:
    return {"buy_volume": a.buyer_volume, "sell_volume": a.seller_volume}


TRUTH: dict[str, Callable[[dict[str, Any], Activity, Any], dict[str, Any]]] = {
    "program_trading": _program,
    "credit_balance": _credit,
    "short_sales": _short,
    "lending_balance": _lending,
    "daily_trade_volume": _sides,
}


@pytest.fixture
def wh(wh: Warehouse, market: Market, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    # The simulator's clock: the market families are asked for no day older than KIS keeps.
    monkeypatch.setenv("KIS_NOW", SIM_NOW.isoformat())
    return seed.seed_watchlist(wh, market, monkeypatch, SYMBOLS, 2026, dt.date(2026, 11, 20))


def _assert_matches(frame: pl.DataFrame, table: str, market: Market) -> None:
    assert frame.height > 0
    for row in frame.iter_rows(named=True):
        truth = market.activity(row["symbol"], row["date"])
        bar = market.bar(row["symbol"], row["date"])
        assert truth is not None and bar is not None
        expected = TRUTH[table](row, truth, bar)
        assert {k: row[k] for k in expected} == expected, (table, row["symbol"], row["date"])
        if "volume" in row:
            assert row["volume"] == bar.volume


def test_every_family_is_declared_once_and_built() -> None:
    assert set(TRENDS) == set(TRUTH)
    assert set(BUILT) == set(ALL_TRENDS)
    for table, built in BUILT.items():
        assert built.asset.key.to_user_string() == table
        assert built.schedule.job_name == f"{table}_job"
        assert {spec.name for spec in built.asset.check_specs} >= {
            f"{table}_complete",
            f"{table}_no_rejects",
            f"{table}_unique_keys",
        }


def test_a_night_is_one_call_per_symbol_and_matches_the_market(
    wh: Warehouse, market: Market
) -> None:
    assets = [built.asset for built in BUILT.values()]
    result = seed.run_assets(assets, partition_range=NIGHT)
    checks = seed.check_evaluations(result)
    assert checks and all(e.passed for e in checks.values()), checks
    for table, trend in TRENDS.items():
        meta = seed.materialization_metadata(result, table)
        assert seed.tr_calls(meta, trend.endpoint.tr_id) == len(SYMBOLS) == meta["calls_planned"]
        frame = wh.read(table)
        assert frame.height == 2 * len(SYMBOLS), table
        assert sorted(set(frame["date"].to_list())) == [
            dt.date(2026, 11, 19),
            dt.date(2026, 11, 20),
        ]
        _assert_matches(frame, table, market)


@pytest.mark.parametrize("table", ["credit_balance", "program_trading", "daily_trade_volume"])
def test_a_backfill_walks_back_as_planned_with_holidays_empty(
    wh: Warehouse, market: Market, table: str
) -> None:
    # 2026-08-03..2026-11-20: 75 sessions, with Liberation Day, Chuseok, 10/5 and Hangul Day
    # closed; 30 sessions a call walked back (the credit balance by settlement date), or one
    # range call of up to 100.
    asset = BUILT[table].asset
    result = seed.run_assets([asset], partition_range=("2026-08-03", "2026-11-20"))
    sessions = market.trading_days(dt.date(2026, 8, 3), dt.date(2026, 11, 20))
    trend = TRENDS[table]
    meta = seed.materialization_metadata(result, table)
    assert seed.tr_calls(meta, trend.endpoint.tr_id) == len(SYMBOLS) * trend.calls(len(sessions))
    frame = wh.read(table)
    assert sorted(set(frame["date"].to_list())) == sessions
    assert frame.height == len(sessions) * len(SYMBOLS)
    for holiday in ("2026-09-24", "2026-09-25", "2026-10-05", "2026-10-09"):
        assert wh.read(table, [holiday]).is_empty()
    _assert_matches(frame, table, market)


def test_balances_carry_from_one_session_to_the_next(wh: Warehouse, market: Market) -> None:
    tables = ("credit_balance", "lending_balance")
    seed.run_assets([BUILT[t].asset for t in tables], partition_range=("2026-11-02", "2026-11-20"))
    for table, prefix in zip(tables, ("loan_", ""), strict=True):
        frame = wh.read(table).sort("symbol", "date")
        balance = pl.col(f"{prefix}balance_volume")
        carried = frame.with_columns(
            before=balance.shift(1).over("symbol"),
            moved=pl.col(f"{prefix}new_volume") - pl.col(f"{prefix}repaid_volume"),
        ).drop_nulls("before")
        assert carried.height == frame.height - len(SYMBOLS)
        assert (carried[f"{prefix}balance_volume"] == carried["before"] + carried["moved"]).all()


def test_a_closed_day_makes_no_call_and_is_an_empty_partition(wh: Warehouse) -> None:
    result = seed.run_assets([BUILT["short_sales"].asset], partition_key="2026-09-24")
    assert seed.materialization_metadata(result, "short_sales")["calls"] == 0
    assert wh.partitions("short_sales") == ["2026-09-24"]
    assert wh.read("short_sales").is_empty()


BAD_DAY = dt.date(2026, 11, 20)
# One malformed record per family: a letter in a number, a gross below zero, a short sale
# larger than the day's volume.
BAD_RECORDS = {
    "program_trading": ("whol_smtn_shnu_vol", "12a4"),
    "credit_balance": ("whol_loan_rmnd_stcn", "-5"),
    "short_sales": ("ssts_cntg_qty", "x1000"),
    "lending_balance": ("rmnd_stcn", "abc"),
    "daily_trade_volume": ("total_shnu_qty", ""),
}


@pytest.fixture(scope="module")
def corrupt_server() -> Iterator[SimulatorServer]:
    corruptions = tuple(
        Corruption(field, value, SYMBOLS[0], BAD_DAY, TRENDS[table].endpoint.tr_id)
        for table, (field, value) in BAD_RECORDS.items()
    )
    config = dataclasses.replace(SIM_CONFIG, faults=FaultSpec(corrupt=corruptions))
    with SimulatorServer(config) as server:
        yield server


def test_a_malformed_record_is_refused_counted_and_fails_the_check(
    corrupt_server: SimulatorServer, market: Market, tmp_path, monkeypatch
) -> None:
    wh = seed.use_simulator(
        monkeypatch,
        corrupt_server,
        tmp_path,
        KIS_SYMBOLS=",".join(SYMBOLS),
        KIS_NOW=SIM_NOW.isoformat(),
    )
    seed.seed_calendar(wh, market, years=[2026])
    seed.seed_symbols(wh, market, dt.date(2026, 11, 20))
    assets = [built.asset for built in BUILT.values()]
    result = seed.run_assets(assets, partition_range=NIGHT, raise_on_error=False)
    checks = seed.check_evaluations(result)
    rejects = wh.read("rest_rejects")
    for table, (field, _) in BAD_RECORDS.items():
        refused = checks[f"{table}_no_rejects"]
        assert not refused.passed, table
        assert refused.metadata["offending_count"].value == 1, table
        assert not checks[f"{table}_complete"].passed, table
        stored = wh.read(table).filter(pl.col("symbol") == SYMBOLS[0])
        # Not stored as zeros: the day is missing, the other day and symbols are there.
        assert stored["date"].to_list() == [dt.date(2026, 11, 19)], table
        assert wh.read(table).height == 2 * len(SYMBOLS) - 1, table
        mine = rejects.filter(pl.col("target_table") == table)
        assert mine.select("symbol", "date").rows() == [(SYMBOLS[0], BAD_DAY)], table
        # An order rule names both of its fields, the broken one first.
        assert mine["field"][0].split(",")[0] == field, table


def test_allow_incomplete_turns_the_gates_into_warnings(
    corrupt_server: SimulatorServer, market: Market, tmp_path, monkeypatch
) -> None:
    wh = seed.use_simulator(monkeypatch, corrupt_server, tmp_path, KIS_SYMBOLS=SYMBOLS[0])
    seed.seed_calendar(wh, market, years=[2026])
    seed.seed_symbols(wh, market, dt.date(2026, 11, 20))
    built = BUILT["short_sales"]
    result = seed.run_assets(
        [built.asset], partition_key="2026-11-20", tags={"kis/allow_incomplete": "true"}
    )
    assert result.success
    checks = seed.check_evaluations(result)
    for name in ("short_sales_no_rejects", "short_sales_complete"):
        assert not checks[name].passed
        assert checks[name].severity.value == "WARN"


def test_paper_skips_every_family_with_a_reason(
    sim_server: SimulatorServer, tmp_path, monkeypatch
) -> None:
    # KIS's mock service has none of these endpoints (SPEC §16).
    wh = seed.use_simulator(monkeypatch, sim_server, tmp_path, KIS_ENV="paper")
    assets = [built.asset for built in BUILT.values()]
    result = seed.run_assets(assets, partition_key="2026-11-20")
    for table, trend in ALL_TRENDS.items():
        meta = seed.materialization_metadata(result, table)
        assert meta["skipped"] == (
            f"{table} skipped: KIS's paper (mock) service has no {trend.endpoint.name} (SPEC §16)"
        )
        assert wh.partitions(table) == []
