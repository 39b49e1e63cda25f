"""The simulator's market activity agrees with its prices: slices of the day's volume and
value, buyers and sellers adding up to the volume, and balances that carry from one session
to the next, holidays and splits included."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_activity import settlement_date

CONFIG = SimConfig(
    seed=5, universe=60, start=dt.date(2023, 1, 2), now=dt.datetime(2023, 12, 29, 20)
)


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(CONFIG)


def test_each_day_is_consistent_with_its_bar(market: Market) -> None:
    days = market.trading_days(dt.date(2023, 9, 1), dt.date(2023, 10, 31))
    for listing in market.listings[::7]:
        for day in days:
            a, bar = market.activity(listing.symbol, day), market.bar(listing.symbol, day)
            assert a is not None and bar is not None
            assert 0 <= a.program_buy_volume <= bar.volume
            assert 0 <= a.program_sell_volume <= bar.volume
            assert a.program_net_value == a.program_buy_value - a.program_sell_value
            assert 0 <= a.program_buy_value <= bar.value
            assert 0 <= a.short_volume <= bar.volume and 0 <= a.short_value <= bar.value
            assert a.buyer_volume + a.seller_volume == bar.volume
            assert min(a.buyer_volume, a.seller_volume) >= 0


def test_balances_carry_over_holidays_and_splits(market: Market) -> None:
    # Chuseok 2023-09-28..10-03 and the 5-for-1 split of universe position 47 on 2023-09-11.
    days = market.trading_days(dt.date(2023, 9, 1), dt.date(2023, 10, 31))
    for symbol in (market.listings[0].symbol, market.listings[47].symbol):
        previous = None
        for day in days:
            a = market.activity(symbol, day)
            assert a is not None
            for side in ("loan", "stock_loan", "lending"):
                today = getattr(a, side)
                assert min(today.new, today.repaid, today.balance) >= 0
                if previous is not None:
                    before = getattr(previous, side).balance
                    assert today.balance == before + today.new - today.repaid
            previous = a


def test_no_activity_off_the_history(market: Market) -> None:
    assert market.activity("005930", dt.date(2023, 9, 28)) is None  # Chuseok
    assert market.activity("005930", dt.date(2024, 1, 3)) is None  # after the clock
    assert market.activity("999999", dt.date(2023, 9, 27)) is None


def test_a_trade_settles_two_settlement_days_later(market: Market) -> None:
    assert settlement_date(dt.date(2023, 9, 26)) == dt.date(2023, 10, 4)
    assert settlement_date(dt.date(2023, 10, 5)) == dt.date(2023, 10, 10)


def test_a_markets_program_trading_is_its_stocks_summed(market: Market) -> None:
    for day in market.trading_days(dt.date(2023, 10, 4), dt.date(2023, 10, 13)):
        for name in ("KOSPI", "KOSDAQ"):
            program = market.market_program(name, day)
            assert program is not None
            stocks = [
                a
                for listing in market.listings
                if listing.market == name
                and (a := market.activity(listing.symbol, day)) is not None
            ]
            assert program.total == {
                "buy_volume": sum(a.program_buy_volume for a in stocks),
                "buy_value": sum(a.program_buy_value for a in stocks),
                "sell_volume": sum(a.program_sell_volume for a in stocks),
                "sell_value": sum(a.program_sell_value for a in stocks),
            }
            for figure, total in program.total.items():
                assert 0 < program.arbitrage[figure] < total
                assert program.arbitrage[figure] + program.non_arbitrage[figure] == total
    assert market.market_program("KOSPI", dt.date(2023, 10, 3)) is None  # a holiday
    assert market.market_program("NYSE", dt.date(2023, 10, 4)) is None
