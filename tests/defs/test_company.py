"""The company snapshots against the simulator's truth: stock info as a point-in-time universe
(listed names with their figures, names that left the listing kept with their delisting
dates), one call per symbol, an unknown code refused in one line without a write, a malformed
record refused, counted and failing its check, and paper skipping with its reason."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import polars as pl
import pytest

from kis_pipeline.cli.dagster_runner import step_errors
from kis_pipeline.common.clock import today_kst
from kis_pipeline.defs.company.assets import BUILT
from kis_pipeline.lib.run_context import SYMBOLS_TAG
from kis_pipeline.simulator.config import FaultSpec
from kis_pipeline.simulator.corrupt import Corruption
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_company import FORMER_LISTINGS
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs import seed
from tests.helpers.research_data import frame_like
from tests.helpers.simulator import SIM_CONFIG

STOCK_INFO = BUILT["stock_info"].asset
KOSPI_GONE, KOSDAQ_GONE = FORMER_LISTINGS


@pytest.fixture
def wh(wh: Warehouse, market: Market) -> Warehouse:
    seed.seed_symbols(wh, market, today_kst() - dt.timedelta(days=1))
    return wh


def test_stock_info_equals_the_market_and_keeps_names_that_left_the_listing(
    wh: Warehouse, market: Market
) -> None:
    as_of = today_kst()
    # Last week's snapshot held a name since delisted; a master file since then held another.
    last_week = as_of - dt.timedelta(days=7)
    wh.write_partition(
        "stock_info",
        last_week.isoformat(),
        frame_like("stock_info", {"as_of": [last_week], "symbol": [KOSPI_GONE.symbol]}),
    )
    older = (
        wh.read("symbols")
        .head(1)
        .with_columns(
            date=pl.lit(last_week + dt.timedelta(days=2)), symbol=pl.lit(KOSDAQ_GONE.symbol)
        )
    )
    wh.write_partition("symbols", older["date"][0].isoformat(), older)

    result = seed.run_assets([STOCK_INFO])
    assert all(e.passed for e in seed.check_evaluations(result).values())
    listings = {x.symbol: x for x in market.listings}
    meta = seed.materialization_metadata(result, "stock_info")
    assert seed.tr_calls(meta, "CTPF1002R") == meta["calls_planned"] == len(listings) + 2

    frame = wh.read("stock_info", [as_of.isoformat()])
    assert set(frame["as_of"].to_list()) == {as_of}
    rows = {row["symbol"]: row for row in frame.iter_rows(named=True)}
    assert set(rows) == {*listings, KOSPI_GONE.symbol, KOSDAQ_GONE.symbol}
    for symbol, listing in listings.items():
        row = rows[symbol]
        expected = {
            "name": listing.name,
            "market": listing.market,
            "product_kind": "stock",
            "listed_shares": listing.listed_shares,
            "par_value": listing.par_value,
            "sector": listing.sector,
            "listed_on": listing.list_date if listing.market != "KONEX" else None,
            "delisted_on": None,
            "close": market.bar(symbol, market.last_completed_session()).close,
        }
        assert {k: row[k] for k in expected} == expected, symbol
    for gone in FORMER_LISTINGS:
        row = rows[gone.symbol]
        expected = {
            "market": gone.market,
            "listed_on": gone.list_date,
            "delisted_on": gone.delist_date,
            "listed_shares": gone.listed_shares,
            "is_halted": True,
        }
        assert {k: row[k] for k in expected} == expected, gone.symbol


def test_a_run_for_some_symbols_asks_kis_even_about_a_delisted_code(wh: Warehouse) -> None:
    seed.run_assets([STOCK_INFO], tags={SYMBOLS_TAG: "005930"})
    seed.run_assets([STOCK_INFO], tags={SYMBOLS_TAG: KOSPI_GONE.symbol})
    frame = wh.read("stock_info").sort("symbol")
    assert frame.select("symbol", "delisted_on").rows() == [
        (KOSPI_GONE.symbol, KOSPI_GONE.delist_date),
        ("005930", None),
    ]


def test_an_unknown_symbol_is_one_line_and_no_write(wh: Warehouse) -> None:
    result = seed.run_assets([STOCK_INFO], tags={SYMBOLS_TAG: "999990"}, raise_on_error=False)
    assert not result.success
    errors = step_errors(result)
    assert len(errors) == 1 and "999990" in errors[0] and "MCA05918" in errors[0], errors
    assert wh.read("stock_info").is_empty()


@pytest.fixture(scope="module")
def corrupt_server() -> Iterator[SimulatorServer]:
    bad = Corruption("lstg_stqt", "-5", "000660", None, "CTPF1002R")
    config = dataclasses.replace(SIM_CONFIG, faults=FaultSpec(corrupt=(bad,)))
    with SimulatorServer(config) as server:
        yield server


def test_a_malformed_record_is_refused_counted_and_fails_the_check(
    corrupt_server: SimulatorServer, market: Market, tmp_path, monkeypatch
) -> None:
    wh = seed.use_simulator(monkeypatch, corrupt_server, tmp_path, KIS_SYMBOLS="005930,000660")
    seed.seed_symbols(wh, market, today_kst())
    result = seed.run_assets([STOCK_INFO], raise_on_error=False)
    checks = seed.check_evaluations(result)
    assert not checks["stock_info_no_rejects"].passed
    assert checks["stock_info_no_rejects"].metadata["offending_count"].value == 1
    assert not checks["stock_info_complete"].passed
    assert wh.read("stock_info")["symbol"].to_list() == ["005930"]
    rejects = wh.read("rest_rejects").filter(pl.col("target_table") == "stock_info")
    assert rejects.select("symbol", "field").rows() == [("000660", "lstg_stqt")]


def test_paper_skips_with_a_reason(sim_server: SimulatorServer, tmp_path, monkeypatch) -> None:
    # KIS's mock service has none of these endpoints (SPEC §16).
    wh = seed.use_simulator(monkeypatch, sim_server, tmp_path, KIS_ENV="paper")
    result = seed.run_assets([built.asset for built in BUILT.values()])
    for table, built in BUILT.items():
        meta = seed.materialization_metadata(result, table)
        name = built.asset.metadata_by_key[built.asset.key]["kis/source"]
        assert meta["skipped"].startswith(f"{table} skipped: KIS's paper (mock) service has no")
        assert name.startswith("SPEC §10.")
        assert wh.partitions(table) == []
