"""The company snapshots against the simulator's truth: stock info as a point-in-time universe
(listed names with their figures, names that left the listing kept with their delisting
dates), broker opinions since the previous snapshot, KIS Research's estimates in KRW and
percent, one call per symbol, an unknown code refused in one line without a write, a malformed
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
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.analyst import OPINION_PAGE_ROWS, fetch_opinions
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.lib.run_context import SYMBOLS_TAG
from kis_pipeline.simulator.config import FaultSpec
from kis_pipeline.simulator.corrupt import Corruption
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_company import (
    FORMER_LISTINGS,
    covers_estimates,
    estimates,
    opinions,
)
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs import seed
from tests.helpers.research_data import frame_like
from tests.helpers.simulator import SIM_CONFIG

STOCK_INFO = BUILT["stock_info"].asset
OPINIONS = BUILT["analyst_opinions"].asset
ESTIMATES = BUILT["analyst_estimates"].asset
WATCHLIST = ("005930", "000660", "035420")
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


def test_opinions_equal_the_market_from_the_previous_snapshot_on(
    wh: Warehouse, market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIS_SYMBOLS", ",".join(WATCHLIST))
    as_of = today_kst()

    def reports(start: dt.date) -> set[tuple[object, ...]]:
        return {
            (o.symbol, o.date, o.broker, o.opinion, o.previous, o.target_price, o.prev_close)
            for s in WATCHLIST
            for o in opinions(market, s, start, as_of)
        }

    def stored() -> set[tuple[object, ...]]:
        frame = wh.read("analyst_opinions", [as_of.isoformat()])
        columns = ["symbol", "date", "broker", "opinion", "previous_opinion", "target_price"]
        return set(frame.select(*columns, "prev_close").iter_rows())

    # The first run reaches a year back: one call per symbol.
    result = seed.run_assets([OPINIONS])
    assert all(e.passed for e in seed.check_evaluations(result).values())
    meta = seed.materialization_metadata(result, "analyst_opinions")
    assert seed.tr_calls(meta, "FHKST663300C0") == meta["calls_planned"] == len(WATCHLIST)
    truth = reports(as_of - dt.timedelta(days=365))
    assert len(truth) > 3 * len(WATCHLIST)
    assert stored() == truth
    # Later runs take the reports dated since the previous snapshot's day.
    previous = as_of - dt.timedelta(days=30)
    wh.write_partition(
        "analyst_opinions", previous.isoformat(), wh.read("analyst_opinions").clear()
    )
    seed.run_assets([OPINIONS])
    assert stored() == reports(previous) and 0 < len(reports(previous)) < len(truth)


def test_estimates_equal_kis_research_in_krw_and_percent(
    wh: Warehouse, market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    uncovered = next(x.symbol for x in market.listings if not covers_estimates(x.symbol))
    monkeypatch.setenv("KIS_SYMBOLS", ",".join([*WATCHLIST, uncovered]))
    result = seed.run_assets([ESTIMATES])
    assert all(e.passed for e in seed.check_evaluations(result).values())
    meta = seed.materialization_metadata(result, "analyst_estimates")
    assert seed.tr_calls(meta, "HHKST668300C0") == meta["calls_planned"] == len(WATCHLIST) + 1
    frame = wh.read("analyst_estimates")
    assert uncovered not in frame["symbol"].to_list()
    for symbol in WATCHLIST:
        truth = estimates(market, symbol, market.today())
        rows = frame.filter(pl.col("symbol") == symbol).sort("period")
        assert rows["period"].to_list() == [e.period for e in truth] != []
        for row, e in zip(rows.iter_rows(named=True), truth, strict=True):
            # KIS sends whole KRW 100 million (EBITDA KRW billion) and tenths of rates.
            assert row["revenue"] == round(e.revenue) * 100_000_000
            assert row["ebitda"] == round(e.ebitda) * 1_000_000_000
            assert row["eps"] == round(e.eps)
            assert row["per"] == pytest.approx(round(e.per * 10) / 10)
            assert row["roe"] == pytest.approx(round(e.roe * 10) / 10)


@pytest.mark.parametrize(
    ("asset", "reason"),
    [(STOCK_INFO, "MCA05918"), (OPINIONS, "not in the"), (ESTIMATES, "not in the")],
    ids=["stock_info", "analyst_opinions", "analyst_estimates"],
)
def test_an_unknown_symbol_is_one_line_and_no_write(
    wh: Warehouse, asset: object, reason: str
) -> None:
    result = seed.run_assets([asset], tags={SYMBOLS_TAG: "999990"}, raise_on_error=False)
    assert not result.success
    errors = step_errors(result)
    assert len(errors) == 1 and "999990" in errors[0] and reason in errors[0], errors
    assert "\n" not in errors[0]
    table = asset.key.path[0]  # type: ignore[attr-defined]
    assert wh.read(table).is_empty()


@pytest.fixture(scope="module")
def corrupt_server() -> Iterator[SimulatorServer]:
    bad = (
        Corruption("lstg_stqt", "-5", "000660", None, "CTPF1002R"),
        Corruption("hts_goal_prc", "-100", "000660", None, "FHKST663300C0"),
        Corruption("data1", "n/a", "000660", None, "HHKST668300C0"),
    )
    config = dataclasses.replace(SIM_CONFIG, faults=FaultSpec(corrupt=bad))
    with SimulatorServer(config) as server:
        yield server


def test_a_malformed_record_is_refused_counted_and_fails_the_check(
    corrupt_server: SimulatorServer, market: Market, tmp_path, monkeypatch
) -> None:
    wh = seed.use_simulator(monkeypatch, corrupt_server, tmp_path, KIS_SYMBOLS="005930,000660")
    seed.seed_symbols(wh, market, today_kst())
    result = seed.run_assets([STOCK_INFO, OPINIONS, ESTIMATES], raise_on_error=False)
    checks = seed.check_evaluations(result)
    assert not checks["stock_info_complete"].passed
    rejects = wh.read("rest_rejects")
    as_of = today_kst()
    # Every record of 000660 broke a rule: each is refused, none stored as a zero or a null.
    refused = {
        "stock_info": 1,
        "analyst_opinions": len(opinions(market, "000660", as_of - dt.timedelta(365), as_of)),
        "analyst_estimates": 1,  # the first period, whose column data1 was garbled
    }
    fields = {"stock_info": "lstg_stqt", "analyst_opinions": "hts_goal_prc"}
    for table, count in refused.items():
        check = checks[f"{table}_no_rejects"]
        assert not check.passed and check.metadata["offending_count"].value == count, table
        mine = rejects.filter(pl.col("target_table") == table)
        assert mine.height == count and set(mine["symbol"]) == {"000660"}, table
        assert set(mine["field"]) <= {fields.get(table, "revenue")} | {"revenue"}, table
    assert wh.read("stock_info")["symbol"].to_list() == ["005930"]
    assert "000660" not in wh.read("analyst_opinions")["symbol"].to_list()
    periods = estimates(market, "000660", market.today())
    stored = wh.read("analyst_estimates").filter(pl.col("symbol") == "000660")
    assert stored["period"].sort().to_list() == [e.period for e in periods[1:]]


def test_paper_skips_with_a_reason(sim_server: SimulatorServer, tmp_path, monkeypatch) -> None:
    # KIS's mock service has none of these endpoints (SPEC §16).
    wh = seed.use_simulator(monkeypatch, sim_server, tmp_path, KIS_ENV="paper")
    result = seed.run_assets([built.asset for built in BUILT.values()])
    for table, built in BUILT.items():
        meta = seed.materialization_metadata(result, table)
        name = built.asset.metadata_by_key[built.asset.key]["kis/source"]
        assert meta["skipped"].startswith(f"{table} skipped: KIS's paper (mock) service has no")
        assert name.startswith(("SPEC §10.", "SPEC §7.2"))
        assert wh.partitions(table) == []


def test_opinions_page_back_past_a_full_page(
    sim_server: SimulatorServer, market: Market, tmp_path, monkeypatch
) -> None:
    seed.use_simulator(monkeypatch, sim_server, tmp_path)
    start, end = market.config.start, market.last_completed_session()
    truth = {(o.date, o.broker, o.target_price) for o in opinions(market, "005930", start, end)}
    assert len(truth) > OPINION_PAGE_ROWS
    with KisClient(KisSettings.from_env()) as client:
        frame = fetch_opinions(client, "005930", start, end, as_of=end)
        calls = client.stats.snapshot()["calls_by_tr_id"]["FHKST663300C0"]
    assert set(frame.select("date", "broker", "target_price").iter_rows()) == truth
    assert frame.height == len(truth)
    assert calls == -(-len(truth) // OPINION_PAGE_ROWS)
