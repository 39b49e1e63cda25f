"""KIS's ranking screens (SPEC §8.4-§8.16) against the simulator's books: each screen kept as it
stood after the session, one call per ordering (and one to learn the session), its figures
those of the endpoints a user can check them against; a rerun replaces the session's rows; paper
skips them in one line; a garbled row is refused, counted and fails the checks; a request the
SPEC does not allow is refused as every simulated screen refuses one."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from kis_pipeline.defs.rankings.lists import BUILT, DERIVED, SNAPSHOTS
from kis_pipeline.kis.endpoints.ranking_lists import (
    BLOCK_TRADE_MIN_KRW,
    BLOCK_TRADES,
    EXPECTED_EXECUTION,
    RANKING_LISTS,
    WATCHLIST,
    RankingList,
    settled_year,
)
from kis_pipeline.simulator.corrupt import Corruption
from kis_pipeline.simulator.faults import FaultSpec
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_minutes import minute_bars
from kis_pipeline.simulator.market_ticks import tick_size
from kis_pipeline.simulator.rest_market import resting_quantities
from kis_pipeline.simulator.rest_ranking_lists import block_trades, registrations
from kis_pipeline.simulator.server import SimulatorServer
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG, SIM_NOW, own_simulator
from tests.simulator.rest_api import Api

CONFIG = seed.fast_config(SIM_CONFIG, universe=40)
server, market = own_simulator(CONFIG)
DAY = SIM_NOW.date()  # a Friday session
KRW_PER_HUNDRED_MILLION = 100_000_000
CLOSING_AUCTION_S = 15 * 3600 + 30 * 60  # 15:30, when KRX's closing auction prints

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
            assert row["price"] == bar[0].close, (table, symbol)
            # The expected-execution screen sends what the auction executed, not the day's.
            assert (row["volume"] is None) == (table == "expected_execution_rankings")
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
        elif table in MODEL_CHECKS:
            MODEL_CHECKS[table](row, market, bar[0], activity)
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


def _block_trades(row: dict[str, Any], market: Market, bar: Any, activity: Any) -> None:
    taken = activity.buyer_volume + activity.seller_volume
    blocks = block_trades(
        market.config.seed, row["symbol"], bar, activity.buyer_volume / taken, BLOCK_TRADE_MIN_KRW
    )
    count = blocks.buy_count + blocks.sell_count
    assert (row["buy_block_count"], row["sell_block_count"]) == (
        blocks.buy_count,
        blocks.sell_count,
    )
    assert row["net_buy_volume"] == blocks.buy_volume - blocks.sell_volume
    # Each block is worth the minimum at least; together they are never more than the day.
    block_volume = blocks.buy_volume + blocks.sell_volume
    average = bar.value / bar.volume
    assert count * BLOCK_TRADE_MIN_KRW <= (block_volume + 1) * average
    assert count > 0 and block_volume <= bar.volume


def _watchlist(row: dict[str, Any], market: Market, bar: Any, activity: Any) -> None:
    recent = market.daily_bars(row["symbol"], DAY - dt.timedelta(days=40), DAY)[-20:]
    values = [b.value for b in recent]
    assert row["registrations"] == registrations(market.config.seed, row["symbol"], values)
    assert row["value"] == bar.value
    assert (row["ask"], row["bid"]) == (bar.close + tick_size(bar.close), bar.close)


def _expected_execution(row: dict[str, Any], market: Market, bar: Any, activity: Any) -> None:
    # After the close the auction is the closing one: the close, on the minute bar at 15:30.
    (auction,) = [
        b
        for b in minute_bars(market.config.seed, row["symbol"], bar)
        if b.second == CLOSING_AUCTION_S
    ]
    assert (row["executed_volume"], row["executed_value"]) == (auction.volume, auction.value)
    assert auction.close == bar.close
    assert (row["base_price"], row["change"]) == (bar.prev_close, bar.close - bar.prev_close)
    assert row["change_rate"] == pytest.approx(
        (bar.close - bar.prev_close) / bar.prev_close * 100, abs=0.006
    )
    best_ask, best_bid, total_ask, total_bid = resting_quantities(row["symbol"], DAY, bar.volume)
    assert (row["ask_volume"], row["bid_volume"]) == (best_ask, best_bid)
    assert (row["total_ask_volume"], row["total_bid_volume"]) == (total_ask, total_bid)
    if row["ranking"] == "rise":
        assert row["change"] > 0
    elif row["ranking"] == "fall":
        assert row["change"] < 0


# The screens resting on models of the simulator's own (`rest_ranking_lists`), checked against
# the books those models read.
MODEL_CHECKS = {
    "block_trade_rankings": _block_trades,
    "watchlist_rankings": _watchlist,
    "expected_execution_rankings": _expected_execution,
}


def _run_every_screen() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(check evaluations, metadata by table) of a run of every screen: those with a derived
    history for the session's partition, the others unpartitioned."""
    results = [seed.run_assets(SNAPSHOTS), seed.run_assets(DERIVED, partition_key=DAY.isoformat())]
    checks = {k: v for result in results for k, v in seed.check_evaluations(result).items()}
    metadata = {
        table: seed.materialization_metadata(result, table)
        for result, assets in zip(results, (SNAPSHOTS, DERIVED), strict=True)
        for table in (a.key.to_user_string() for a in assets)
    }
    return checks, metadata


def test_every_screen_is_kept_as_kis_shows_it_after_the_session(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch)
    checks, metadata = _run_every_screen()
    assert len(checks) == sum(len(b.checks) for b in BUILT.values())
    assert all(c.passed for c in checks.values()), [n for n, c in checks.items() if not c.passed]
    for table, screen in RANKING_LISTS.items():
        meta = metadata[table]
        assert seed.tr_calls(meta, screen.endpoint.tr_id) == screen.calls, table
        assert wh.partitions(table) == [DAY.isoformat()], table
        stored = wh.read(table)
        counts = dict(stored.group_by("ranking").len().iter_rows())
        assert set(counts) == set(screen.orderings), table
        assert all(0 < n <= 30 for n in counts.values()), (table, counts)
        _check_truth(table, stored, market)
    # The fall runs lowest first; there is no column of its own for the check to see it by.
    fall = wh.read("expected_execution_rankings").filter(pl.col("ranking") == "fall")
    assert fall.sort("rank")["change_rate"].is_sorted()
    # The screens over annual accounts rank the latest year whose reports are out.
    assert set(wh.read("valuation_rankings")["fiscal_year"]) == {settled_year(DAY)} == {2025}

    # A second run the same evening replaces the session's rows: nothing twice.
    before = {table: wh.read(table).sort("ranking", "rank") for table in RANKING_LISTS}
    _run_every_screen()
    for table in RANKING_LISTS:
        assert wh.read(table).sort("ranking", "rank").equals(before[table]), table


def test_paper_has_no_ranking_screens_and_skips_them_in_one_line(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch, KIS_ENV="paper")
    _, metadata = _run_every_screen()
    for table in RANKING_LISTS:
        meta = metadata[table]
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
    # The screen has a derived history: its runs are for a day's partition.
    result = seed.run_assets([asset], partition_key=DAY.isoformat(), raise_on_error=False)
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


def _params(screen: RankingList, ordering: str, **changed: str) -> dict[str, str]:
    params = {**screen.params, **screen.orderings[ordering].extra, **changed}
    if screen.sort_param is not None and screen.orderings[ordering].code is not None:
        params.setdefault(screen.sort_param, screen.orderings[ordering].code)
    if screen.market_param is not None:
        params.setdefault(screen.market_param, "J")
    return params


def _endpoint(screen: RankingList) -> tuple[str, str]:
    return screen.endpoint.path, screen.endpoint.tr_id


@pytest.fixture
def api(server: SimulatorServer) -> Iterator[Api]:
    caller = Api(server)
    yield caller
    caller.close()


def test_block_trades_are_the_trades_of_at_least_the_amount_asked_for(api: Api) -> None:
    def counts(least: int) -> dict[str, int]:
        params = _params(BLOCK_TRADES, "buy", fid_input_price_1=str(least))
        rows = api.ok(_endpoint(BLOCK_TRADES), params)["output"]
        return {r["mksc_shrn_iscd"]: int(r["shnu_cntg_csnu"]) for r in rows}

    block, smaller, larger = counts(BLOCK_TRADE_MIN_KRW), counts(10_000_000), counts(10**9)
    assert larger and len(larger) <= len(block) <= len(smaller)
    assert all(larger[s] <= block[s] <= smaller[s] for s in larger)
    assert any(larger[s] < block[s] for s in larger)
    # One name only, when one is asked for.
    first = next(iter(block))
    only = _params(BLOCK_TRADES, "sell", fid_input_iscd_2=first)
    assert [r["mksc_shrn_iscd"] for r in api.ok(_endpoint(BLOCK_TRADES), only)["output"]] == [first]


def test_watchlist_starts_at_the_rank_asked_for(api: Api) -> None:
    def ranked(start: str) -> list[tuple[str, str]]:
        params = _params(WATCHLIST, "registrations", fid_input_cnt_1=start)
        rows = api.ok(_endpoint(WATCHLIST), params)["output"]
        return [(r["data_rank"], r["mksc_shrn_iscd"]) for r in rows]

    top, later = ranked("1"), ranked("10")
    assert len(top) == 30 and top[0][0] == "1"
    assert later[:21] == top[9:] and later[0][0] == "10"


def test_the_pre_open_phase_shows_nothing_after_the_close(api: Api) -> None:
    params = _params(EXPECTED_EXECUTION, "rise", fid_mkop_cls_code="0")
    assert api.ok(_endpoint(EXPECTED_EXECUTION), params)["output"] == []


@pytest.mark.parametrize(
    ("screen", "ordering", "changed"),
    [
        (BLOCK_TRADES, "buy", {"fid_rank_sort_cls_code": "2"}),
        (BLOCK_TRADES, "buy", {"fid_input_price_1": "1억"}),
        (BLOCK_TRADES, "buy", {"fid_input_iscd_2": "5930"}),
        (BLOCK_TRADES, "buy", {"fid_div_cls_code": "1"}),
        (WATCHLIST, "registrations", {"fid_input_iscd_2": "005930"}),
        (WATCHLIST, "registrations", {"fid_input_cnt_1": "0"}),
        (WATCHLIST, "registrations", {"fid_cond_mrkt_div_code": "U"}),
        (EXPECTED_EXECUTION, "rise", {"fid_mkop_cls_code": "2"}),
        (EXPECTED_EXECUTION, "rise", {"fid_rank_sort_cls_code": "7"}),
        (EXPECTED_EXECUTION, "rise", {"fid_cond_mrkt_div_code": "NX"}),
    ],
)
def test_values_the_spec_does_not_allow_are_refused(
    api: Api, screen: RankingList, ordering: str, changed: dict[str, str]
) -> None:
    body = api.get(_endpoint(screen), _params(screen, ordering, **changed)).json()
    assert (body["rt_cd"], body["msg_cd"], body.get("output")) == ("2", "OPSQ2001", None)
