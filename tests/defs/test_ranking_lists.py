"""KIS's ranking screens (SPEC §8.4-§8.13) against the simulator's books: each screen kept as it
stood after the session, one call per ordering (and one to learn the session), its figures
those of the endpoints a user can check them against; a rerun replaces the session's rows; paper
skips them in one line; a garbled row is refused, counted and fails the checks."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.defs.rankings.lists import ASSETS, BUILT
from kis_pipeline.kis.endpoints.ranking_lists import RANKING_LISTS, settled_year
from kis_pipeline.simulator.corrupt import Corruption
from kis_pipeline.simulator.faults import FaultSpec
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.rest_market import resting_quantities
from kis_pipeline.simulator.server import SimulatorServer
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG, SIM_NOW, own_simulator

CONFIG = seed.fast_config(SIM_CONFIG, universe=40)
server, market = own_simulator(CONFIG)
DAY = SIM_NOW.date()  # a Friday session
KRW_PER_HUNDRED_MILLION = 100_000_000

_warehouse = seed.warehouse_at(SIM_NOW)


def _annual(market: Market, symbol: str, year: int):  # type: ignore[no-untyped-def]
    periods = market.financials(symbol, as_of=DAY)
    return next(p for p in periods if p.period == f"{year}12" and p.period_type == "annual")


def _check_truth(table: str, frame: pl.DataFrame, market: Market) -> None:
    """Each stored row's figures are the simulator's books for that name and session."""
    for row in frame.iter_rows(named=True):
        symbol = row["symbol"]
        bar = market.daily_bars(symbol, DAY, DAY)
        if table != "dividend_yield_rankings":
            assert row["price"] == bar[0].close and row["volume"] is not None, (table, symbol)
        activity = market.activity(symbol, DAY)
        if table == "execution_strength_rankings":
            assert row["buy_volume"] == activity.buyer_volume
            assert row["sell_volume"] == activity.seller_volume
            assert row["strength"] == pytest.approx(
                activity.buyer_volume / activity.seller_volume * 100, abs=0.006
            )
        elif table == "short_sale_rankings":
            assert row["short_volume"] == activity.short_volume
            assert row["short_value"] == activity.short_value
            assert row["from_date"] == row["to_date"] == DAY
        elif table == "credit_rankings":
            assert row["loan_balance_volume"] == activity.loan.balance
            assert row["stock_loan_balance_volume"] == activity.stock_loan.balance
        elif table == "quote_balance_rankings":
            _, _, ask, bid = resting_quantities(symbol, DAY, bar[0].volume)
            assert (row["total_ask_volume"], row["total_bid_volume"]) == (ask, bid)
            assert row["net_bid_volume"] == bid - ask
        elif table == "disparity_rankings":
            closes = [b.close for b in market.daily_bars(symbol, DAY - dt.timedelta(days=40), DAY)]
            average = sum(closes[-20:]) / 20
            assert row["disparity_20d"] == pytest.approx(bar[0].close / average * 100, abs=0.006)
        elif table == "new_high_low_rankings":
            stats = market.quote_stats(symbol, DAY)
            assert (row["new_high"], row["new_low"]) == (stats.w52_high, stats.w52_low)
            if row["ranking"] == "near_high":
                assert row["high_proximity_rate"] <= 10
        elif table == "dividend_yield_rankings":
            paid = {(d.record_date, d.dividend_per_share) for d in market.dividends(symbol)}
            assert (row["record_date"], row["dividend_per_share"]) in paid
            assert DAY - dt.timedelta(days=365) <= row["record_date"] <= DAY
        else:
            period = _annual(market, symbol, row["fiscal_year"])
            if table == "valuation_rankings":
                assert row["eps"] == period.ratios["eps"]
                if period.ratios["eps"] > 0:
                    assert row["per"] == pytest.approx(
                        bar[0].close / period.ratios["eps"], abs=0.006
                    )
            elif table == "profit_asset_rankings":
                assert row["operating_profit"] == round(
                    period.income["bsop_prti"] * KRW_PER_HUNDRED_MILLION
                )
                assert row["total_assets"] == round(
                    period.balance["total_aset"] * KRW_PER_HUNDRED_MILLION
                )
            else:
                assert row["debt_ratio"] == period.ratios["lblt_rate"]


def test_every_screen_is_kept_as_kis_shows_it_after_the_session(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch)
    result = seed.run_assets(ASSETS)
    checks = seed.check_evaluations(result)
    assert len(checks) == sum(len(b.checks) for b in BUILT.values())
    assert all(c.passed for c in checks.values()), [n for n, c in checks.items() if not c.passed]
    for table, screen in RANKING_LISTS.items():
        meta = seed.materialization_metadata(result, table)
        assert seed.tr_calls(meta, screen.endpoint.tr_id) == screen.calls, table
        assert wh.partitions(table) == [DAY.isoformat()], table
        stored = wh.read(table)
        counts = dict(stored.group_by("ranking").len().iter_rows())
        assert set(counts) == set(screen.orderings), table
        assert all(0 < n <= 30 for n in counts.values()), (table, counts)
        _check_truth(table, stored, market)
    # The screens over annual accounts rank the latest year whose reports are out.
    assert set(wh.read("valuation_rankings")["fiscal_year"]) == {settled_year(DAY)} == {2025}

    # A second run the same evening replaces the session's rows: nothing twice.
    before = {table: wh.read(table).sort("ranking", "rank") for table in RANKING_LISTS}
    seed.run_assets(ASSETS)
    for table in RANKING_LISTS:
        assert wh.read(table).sort("ranking", "rank").equals(before[table]), table


def test_paper_has_no_ranking_screens_and_skips_them_in_one_line(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch, KIS_ENV="paper")
    result = seed.run_assets(ASSETS)
    for table in RANKING_LISTS:
        meta = seed.materialization_metadata(result, table)
        assert meta["skipped"] == (
            f"{table} skipped: KIS's paper (mock) service has no "
            f"{RANKING_LISTS[table].endpoint.name} (SPEC §16)"
        )
        assert wh.partitions(table) == []


STRENGTH_TR = RANKING_LISTS["execution_strength_rankings"].endpoint.tr_id
GARBLED = "033780"  # first by execution strength on DAY


@pytest.fixture(scope="module")
def corrupt_server() -> Iterator[SimulatorServer]:
    bad = (Corruption("tday_rltv", "n/a", GARBLED, None, STRENGTH_TR),)
    with SimulatorServer(dataclasses.replace(CONFIG, faults=FaultSpec(corrupt=bad))) as running:
        yield running


def test_a_garbled_row_is_refused_counted_and_fails_the_checks(
    corrupt_server: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = corrupt_server.state.market
    wh = _warehouse(corrupt_server, market, tmp_path, monkeypatch)
    asset = BUILT["execution_strength_rankings"].asset
    result = seed.run_assets([asset], raise_on_error=False)
    checks = seed.check_evaluations(result)
    assert not checks["execution_strength_rankings_no_rejects"].passed
    # The hole it leaves at rank 1 is seen too.
    assert not checks["execution_strength_rankings_ranks"].passed
    stored = wh.read("execution_strength_rankings").sort("rank")
    assert GARBLED not in stored["symbol"].to_list()
    assert stored["rank"].to_list() == list(range(2, 31))
    rejects = wh.read("rest_rejects").filter(
        pl.col("target_table") == "execution_strength_rankings"
    )
    assert rejects["symbol"].to_list() == [GARBLED]
