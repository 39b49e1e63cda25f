"""The simulator's ETFs: each NAV tracks the KOSPI200 index at its leverage, less its fee; the
price sits at a small premium or discount on KRX's ETF tick; the master file lists them at
their close."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest

from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_etfs import (
    BY_CODE,
    ETFS,
    PREMIUM_BOUND,
    Etf,
    etf_tick,
    nav_path,
)
from kis_pipeline.simulator.masters import non_stocks
from tests.helpers.simulator import SIM_CONFIG

START, END = dt.date(2026, 8, 3), dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(SIM_CONFIG)


@pytest.mark.parametrize("etf", ETFS, ids=lambda etf: etf.code)
def test_the_nav_earns_its_multiple_of_the_index_less_its_fee(market: Market, etf: Etf) -> None:
    bars = market.etf_bars(etf.code, START, END)
    index = {bar.date: bar for bar in market.index_bars("2001", START, END)}
    assert [bar.date for bar in bars] == sorted(index)
    for previous, bar in itertools.pairwise(bars):
        level = index[bar.date]
        earned = bar.prev_nav * (1 + etf.leverage * (level.close / level.prev_close - 1))
        fee = etf.fee * (bar.date - previous.date).days / 365
        # Each NAV is kept to two decimals; the path runs on unrounded values.
        assert bar.nav == pytest.approx(earned * (1 - fee), abs=0.011)


@pytest.mark.parametrize("etf", ETFS, ids=lambda etf: etf.code)
def test_the_price_trades_near_the_nav_on_the_etf_tick(market: Market, etf: Etf) -> None:
    bars = market.etf_bars(etf.code, market.config.start, END)
    closes = np.array([bar.close for bar in bars], dtype=float)
    assert np.all(closes % etf_tick(closes) == 0)
    premiums = np.array([bar.premium_rate for bar in bars]) / 100
    # The walk's bound, and the half tick the price is rounded by.
    assert np.all(np.abs(premiums) <= PREMIUM_BOUND + 5 / 2 / closes)
    assert 0.0005 < np.std(premiums) < 0.002
    assert all(bar.prev_close == previous.close for previous, bar in itertools.pairwise(bars))
    assert all(bar.volume > 0 for bar in bars)


def test_the_first_one_x_nav_is_a_hundred_times_the_index_and_paths_are_deterministic() -> None:
    levels = np.array([250.0, 255.0, 250.0])
    days = [dt.date(2026, 11, 19), dt.date(2026, 11, 20)]
    kodex = nav_path(BY_CODE["069500"], levels, days)
    assert kodex[0] == 25_000.0
    assert kodex[1] == pytest.approx(25_500 * (1 - 0.0015 / 365), abs=0.01)
    # Rebalanced daily: minus once and twice the index's day, from 30 and 45 points.
    inverse = nav_path(BY_CODE["114800"], levels, days)
    assert inverse[1] == pytest.approx(7_500 * (1 - 0.02) * (1 - 0.0064 / 365), abs=0.01)
    leveraged = nav_path(BY_CODE["122630"], levels, days)
    assert leveraged[2] == pytest.approx(
        11_250 * (1 + 0.04) * (1 - 2 * 5 / 255) * (1 - 0.0064 / 365) ** 2, abs=0.01
    )
    first, again = Market(SIM_CONFIG), Market(SIM_CONFIG)
    assert first.etf_bars("122630", START, END) == again.etf_bars("122630", START, END)
    assert first.etf_bars("005930", START, END) == []


def test_the_master_lists_each_etf_at_its_close(market: Market) -> None:
    session = market.last_completed_session()
    listed = {item.symbol: item for item in non_stocks(market, session)}
    for etf in ETFS:
        item = listed[etf.code]
        assert (item.security_group, item.etp_type, item.name) == ("EF", "2", etf.name)
        bar = market.etf_bar(etf.code, session)
        assert bar is not None and item.base_price == bar.close
