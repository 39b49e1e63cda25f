"""Corporate actions and adjustment factors against the simulator's truth: the split the model
makes (5-for-1 on 2023-09-11) is reported by the daily chart and by the KSD listing schedule as
one action, cash dividends are dated ex the session before their record date, and raw × our
factor is KIS's adjusted close on every stored day; a wrong adjusted price fails the check."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.common import krx_calendar
from kis_pipeline.defs.corporate.actions import adj_factors, corporate_actions
from kis_pipeline.defs.fundamentals.dividends import dividends
from kis_pipeline.defs.universe.listings import listing_events
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG, own_simulator

CONFIG = seed.fast_config(SIM_CONFIG)
SPAN = (dt.date(2023, 8, 21), dt.date(2023, 9, 22))


server, market = own_simulator(CONFIG)


@pytest.fixture
def split_symbol(market: Market) -> str:
    return market.listings[seed.SPLIT_SYMBOL_INDEX].symbol


@pytest.fixture
def wh(
    server: SimulatorServer,
    market: Market,
    split_symbol: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Warehouse:
    warehouse = seed.use_simulator(
        monkeypatch, server, tmp_path, KIS_SYMBOLS=f"005930,000660,{split_symbol}"
    )
    monkeypatch.setenv("KIS_RATE_LIMIT", str(seed.FAST_RATE * 0.9))
    seed.seed(warehouse, market)
    seed.run_prices(SPAN)
    for asset in (listing_events, dividends):
        assert seed.run_assets([asset], partition_key="2023").success
    return warehouse


def _passed(result: object) -> dict[str, bool]:
    return {name: e.passed for name, e in seed.check_evaluations(result).items()}


def test_the_split_is_one_action_and_the_factors_reproduce_kis_adjusted_prices(
    wh: Warehouse, market: Market, split_symbol: str
) -> None:
    first = seed.run_assets([corporate_actions, adj_factors])
    assert all(_passed(first).values()), _passed(first)

    actions = wh.read("corporate_actions")
    splits = actions.filter(pl.col("kind") == "split")
    assert splits.select("symbol", "ex_date", "ratio", "source").rows() == [
        (split_symbol, seed.SPLIT_DAY, 5.0, "chart,ksd")
    ]
    truth = [a for a in market.corporate_actions(split_symbol) if a.date.year == 2023]
    assert [(a.date, a.ratio) for a in truth] == [(seed.SPLIT_DAY, 5.0)]
    # Cash dividends: the KSD's amount, ex the session before the record date.
    cash = actions.filter(pl.col("kind") == "cash_dividend")
    stored = wh.read("dividends").filter(pl.col("dividend_per_share") > 0)
    assert cash.height == stored.select("symbol", "record_date").unique().height > 0
    for row in cash.iter_rows(named=True):
        assert row["ex_date"] == krx_calendar.previous_trading_day(row["record_date"])

    factors = wh.read("adj_factors").filter(pl.col("symbol") == split_symbol)
    days = market.trading_days(*SPAN)
    assert factors["date"].to_list() == days
    assert all(
        f == (0.2 if d < seed.SPLIT_DAY else 1.0)
        for d, f in factors.select("date", "factor").iter_rows()
    )
    # Only the symbol with a split has factors; the others are 1 by having none.
    assert set(wh.read("adj_factors")["symbol"].to_list()) == {split_symbol}
    raw = wh.read("daily_prices").filter(pl.col("symbol") == split_symbol)
    kis = wh.read("daily_prices_adjusted").filter(pl.col("symbol") == split_symbol)
    ours = raw.join(factors, on=["date", "symbol"]).select(
        "date", (pl.col("close") * pl.col("factor")).round(0).cast(pl.Int64).alias("close")
    )
    assert ours.sort("date").equals(kis.select("date", "close").sort("date"))

    # Rebuilt the next night: the same actions, none twice.
    again = seed.run_assets([corporate_actions])
    assert all(_passed(again).values())
    assert wh.read("corporate_actions").equals(actions)


def test_an_adjusted_price_off_by_more_than_rounding_fails_the_check(
    wh: Warehouse, split_symbol: str
) -> None:
    day = seed.SPLIT_DAY - dt.timedelta(days=4)  # the Thursday before the split
    partition = wh.read("daily_prices_adjusted", [day.isoformat()])
    bent = partition.with_columns(
        close=pl.when(pl.col("symbol") == split_symbol)
        .then(pl.col("close") + 10)
        .otherwise(pl.col("close"))
    )
    wh.write_partition("daily_prices_adjusted", day.isoformat(), bent)
    result = seed.run_assets([corporate_actions, adj_factors], raise_on_error=False)
    evaluations = seed.check_evaluations(result)
    failed = evaluations["adj_factors_match_kis"]
    assert not failed.passed
    assert str(day) in str(failed.metadata)
