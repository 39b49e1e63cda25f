"""The sector sub-indices of KOSPI and KOSDAQ (SPEC §12.4) in `index_daily`, against the
simulator's truth: every code KIS lists, its bars as the simulator chains them, beside the main
indices and never in their way, no partition of its own making, skipped under paper, and a
malformed record refused and counted."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest

from kis_pipeline.defs.calendar.index_daily import index_daily
from kis_pipeline.defs.calendar.sector_indices import sector_index_daily
from kis_pipeline.simulator.config import FaultSpec
from kis_pipeline.simulator.corrupt import Corruption
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_indices import sub_indices
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG

NIGHT = ("2026-11-19", "2026-11-20")
DAYS = [dt.date(2026, 11, 19), dt.date(2026, 11, 20)]
MAIN = {"0001", "1001", "2001"}


@pytest.fixture
def wh(wh: Warehouse, market: Market) -> Warehouse:
    seed.seed_calendar(wh, market, years=[2026])
    return wh


def _sectors(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(~pl.col("index_code").is_in(sorted(MAIN)))


def test_every_sub_index_is_stored_beside_the_main_ones(wh: Warehouse, market: Market) -> None:
    codes = sub_indices(market.book.specs)
    seed.run_assets([index_daily], partition_range=NIGHT)
    result = seed.run_assets([sector_index_daily], partition_range=NIGHT)
    checks = seed.check_evaluations(result)
    assert checks and all(e.passed for e in checks.values()), checks
    meta = seed.materialization_metadata(result, "sector_index_daily")
    assert seed.tr_calls(meta, "FHPUP02140000") == 2
    assert seed.tr_calls(meta, "FHKUP03500100") == len(codes)
    frame = wh.read("index_daily")
    assert sorted(frame.select("date", "index_code").rows()) == sorted(
        (day, code) for day in DAYS for code in [*MAIN, *codes]
    )
    for row in _sectors(frame).iter_rows(named=True):
        (bar,) = market.index_bars(row["index_code"], row["date"], row["date"])
        assert (row["open"], row["high"], row["low"], row["close"]) == (
            bar.open,
            bar.high,
            bar.low,
            bar.close,
        )
        assert row["volume"] == bar.volume // 1000 * 1000
    # The main indices' run replaces their own rows only.
    seed.run_assets([index_daily], partition_range=NIGHT)
    assert wh.read("index_daily").height == frame.height


def test_a_closed_weekday_costs_no_call(wh: Warehouse) -> None:
    # Hangul Day, a Friday.
    seed.run_assets([index_daily], partition_key="2026-10-09")
    result = seed.run_assets([sector_index_daily], partition_key="2026-10-09")
    assert seed.materialization_metadata(result, "sector_index_daily")["calls"] == 0
    assert wh.read("index_daily", ["2026-10-09"]).is_empty()


def test_a_day_index_daily_lacks_is_one_line_and_no_partition(wh: Warehouse) -> None:
    result = seed.run_assets([sector_index_daily], partition_key=NIGHT[1], raise_on_error=False)
    assert not result.success
    message = result.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert message == (
        "sector_index_daily: index_daily has no partition for 2026-11-20; materialize "
        "index_daily for those days first (its partitions tell sessions from holidays)"
    )
    assert wh.partitions("index_daily") == []


def test_paper_skips_it_with_a_reason(sim_server: SimulatorServer, tmp_path, monkeypatch) -> None:
    wh = seed.use_simulator(monkeypatch, sim_server, tmp_path, KIS_ENV="paper")
    result = seed.run_assets([sector_index_daily], partition_key=NIGHT[1])
    meta = seed.materialization_metadata(result, "sector_index_daily")
    assert meta["skipped"] == (
        "sector_index_daily skipped: KIS's paper (mock) service has no "
        "inquire-index-category-price (SPEC §16)"
    )
    assert wh.partitions("index_daily") == []


def test_a_malformed_code_is_refused_counted_and_fails_the_check(
    market: Market, tmp_path, monkeypatch
) -> None:
    kosdaq = [
        code for code, (_, parent) in sub_indices(market.book.specs).items() if parent == "1001"
    ]
    bad = Corruption("bstp_cls_code", "13", "0001", None, "FHPUP02140000")
    config = dataclasses.replace(SIM_CONFIG, faults=FaultSpec(corrupt=(bad,)))
    with SimulatorServer(config) as server:
        wh = seed.use_simulator(monkeypatch, server, tmp_path)
        seed.seed_calendar(wh, market, years=[2026])
        seed.run_assets([index_daily], partition_range=NIGHT)
        result = seed.run_assets([sector_index_daily], partition_range=NIGHT, raise_on_error=False)
    checks = seed.check_evaluations(result)
    kospi = [
        code for code, (_, parent) in sub_indices(market.book.specs).items() if parent == "0001"
    ]
    refused = checks["sector_index_daily_no_rejects"]
    assert not refused.passed
    assert refused.metadata["offending_count"].value == len(kospi)
    # KOSPI's sub-indices are not stored under a broken code; KOSDAQ's are there.
    stored = _sectors(wh.read("index_daily"))
    assert sorted(set(stored["index_code"].to_list())) == kosdaq
    assert wh.read("rest_rejects")["field"].unique().to_list() == ["bstp_cls_code"]
