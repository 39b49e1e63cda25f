"""A stock's trading per member firm (SPEC §9.13) against the simulator's truth: a per-symbol
family whose calls are repeated for each member of `KIS_MEMBERS`, built by the same factory as
the other trends: symbols x members calls a night, each member's shares as the simulator drew
them, an invalid member list refused in one line before any call, and a malformed record
refused and counted instead of stored."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest

from kis_pipeline.defs.market_activity.assets import BUILT
from kis_pipeline.kis.endpoints.trends import MEMBER_TRENDS
from kis_pipeline.simulator.config import FaultSpec
from kis_pipeline.simulator.corrupt import Corruption
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG

TABLE = "member_flows"
TREND = MEMBER_TRENDS[TABLE]
ASSET = BUILT[TABLE].asset
SYMBOLS = ("005930", "000660", "035420")
MEMBERS = ("00003", "00044")
NIGHT = ("2026-11-19", "2026-11-20")
DAYS = (dt.date(2026, 11, 19), dt.date(2026, 11, 20))


def _seeded(wh: Warehouse, market: Market, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    monkeypatch.setenv("KIS_SYMBOLS", ",".join(SYMBOLS))
    monkeypatch.setenv("KIS_MEMBERS", ",".join(MEMBERS))
    seed.seed_calendar(wh, market, years=[2026])
    seed.seed_symbols(wh, market, DAYS[-1])
    return wh


def test_a_night_is_one_call_per_symbol_and_member_and_matches_the_market(
    wh: Warehouse, market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seeded(wh, market, monkeypatch)
    result = seed.run_assets([ASSET], partition_range=NIGHT)
    checks = seed.check_evaluations(result)
    assert checks and all(e.passed for e in checks.values()), checks
    meta = seed.materialization_metadata(result, TABLE)
    calls = len(SYMBOLS) * len(MEMBERS)
    assert seed.tr_calls(meta, TREND.endpoint.tr_id) == calls == meta["calls_planned"]
    frame = wh.read(TABLE)
    assert sorted(frame.select("date", "symbol", "member").rows()) == sorted(
        (day, symbol, member) for day in DAYS for symbol in SYMBOLS for member in MEMBERS
    )
    for row in frame.iter_rows(named=True):
        truth = market.activity(row["symbol"], row["date"])
        bar = market.bar(row["symbol"], row["date"])
        assert truth is not None and bar is not None
        bought, sold = truth.members[row["member"]]
        assert (row["buy_volume"], row["sell_volume"], row["net_volume"]) == (
            bought,
            sold,
            bought - sold,
        )
        assert (row["close"], row["volume"]) == (bar.close, bar.volume)


def test_an_invalid_member_list_is_one_line_without_a_call(
    wh: Warehouse, market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seeded(wh, market, monkeypatch)
    monkeypatch.setenv("KIS_MEMBERS", "00003,KB")
    result = seed.run_assets([ASSET], partition_key=NIGHT[1], raise_on_error=False)
    assert not result.success
    message = result.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert message == (
        "member_flows: KIS_MEMBERS has invalid codes KB; use 5-digit member codes of KIS's "
        "memcode master like 00003"
    )
    assert wh.partitions(TABLE) == []


def test_a_malformed_record_is_refused_counted_and_fails_the_check(
    market: Market, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Bought ten times over: more than the day's volume.
    bad = Corruption("total_shnu_qty", "x1000", SYMBOLS[0], DAYS[-1], TREND.endpoint.tr_id)
    config = dataclasses.replace(SIM_CONFIG, faults=FaultSpec(corrupt=(bad,)))
    with SimulatorServer(config) as server:
        wh = _seeded(seed.use_simulator(monkeypatch, server, tmp_path), market, monkeypatch)
        result = seed.run_assets([ASSET], partition_range=NIGHT, raise_on_error=False)
    checks = seed.check_evaluations(result)
    assert not checks[f"{TABLE}_no_rejects"].passed
    assert checks[f"{TABLE}_no_rejects"].metadata["offending_count"].value == len(MEMBERS)
    assert not checks[f"{TABLE}_complete"].passed
    stored = wh.read(TABLE)
    assert stored.height == len(DAYS) * len(SYMBOLS) * len(MEMBERS) - len(MEMBERS)
    assert stored.filter((pl.col("symbol") == SYMBOLS[0]) & (pl.col("date") == DAYS[-1])).is_empty()
    rejects = wh.read("rest_rejects").filter(pl.col("target_table") == TABLE)
    assert set(rejects.select("symbol", "date").rows()) == {(SYMBOLS[0], DAYS[-1])}
