"""The simulator's ELWs: each price is Black-Scholes on its underlying's bar times the
conversion ratio, on KRX's 5 KRW tick; the volatility moves smoothly; the historical
volatilities are the underlying's; a warrant trades from its listing until before expiry."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import pytest

from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_elws import (
    BY_CODE,
    ELW_TICK,
    ELWS,
    Elw,
    black_scholes,
    historical,
    last_trading_day,
    volatility,
)
from tests.helpers.simulator import SIM_CONFIG

START, END = dt.date(2026, 8, 3), dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(SIM_CONFIG)


@pytest.mark.parametrize("elw", ELWS, ids=lambda elw: elw.code)
def test_the_close_is_black_scholes_on_the_stock_close_on_the_tick(
    market: Market, elw: Elw
) -> None:
    bars = market.elw_bars(elw.code, START, END)
    stock = {bar.date: bar for bar in market.daily_bars(elw.underlying, START, END)}
    assert [bar.date for bar in bars] == sorted(stock)
    for bar in bars:
        years = (elw.expiry - bar.date).days / 365
        value = black_scholes(elw.kind, stock[bar.date].close, elw.strike, years, bar.vol)
        assert bar.underlying_close == stock[bar.date].close
        assert abs(bar.close - value * elw.ratio) <= ELW_TICK / 2
        prices = np.array([bar.open, bar.high, bar.low, bar.close])
        assert np.all(prices % ELW_TICK == 0) and np.all(prices >= ELW_TICK)
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
        assert bar.volume > 0
    assert all(b.prev_close == a.close for a, b in itertools.pairwise(bars))


@pytest.mark.parametrize("elw", ELWS, ids=lambda elw: elw.code)
def test_the_volatility_is_smooth_and_near_its_base(elw: Elw) -> None:
    days = [START + dt.timedelta(days=i) for i in range(200)]
    vols = np.array([volatility(SIM_CONFIG.seed, elw, day) for day in days])
    assert np.all(np.abs(vols / elw.vol - 1) <= 0.15 + 1e-12)
    # A day moves it by at most the sine's slope: 2 pi x 15 % of the base / 120 days.
    assert np.max(np.abs(np.diff(vols))) <= elw.vol * 0.15 * 2 * math.pi / 120
    assert np.ptp(vols) > elw.vol * 0.05


def test_a_call_gains_and_a_put_loses_with_the_stock_and_parity_holds() -> None:
    call = black_scholes("call", 100.0, 100.0, 0.5, 0.3)
    put = black_scholes("put", 100.0, 100.0, 0.5, 0.3)
    assert call == pytest.approx(put + 100.0 - 100.0 * math.exp(-0.03 * 0.5))
    assert black_scholes("call", 110.0, 100.0, 0.5, 0.3) > call
    assert black_scholes("put", 110.0, 100.0, 0.5, 0.3) < put
    assert black_scholes("put", 90.0, 100.0, 0.0, 0.3) == 10.0


def test_the_historical_volatility_is_the_underlyings_annualised(market: Market) -> None:
    elw = BY_CODE["57K003"]
    bar = market.elw_bar(elw.code, END)
    assert bar is not None
    closes = [b.close for b in market.daily_bars(elw.underlying, dt.date(2026, 5, 1), END)]
    returns = np.diff(np.log(closes))
    assert bar.historical[0] == pytest.approx(np.std(returns[-10:], ddof=1) * math.sqrt(250))
    assert bar.historical[-1] == pytest.approx(np.std(returns[-90:], ddof=1) * math.sqrt(250))
    assert historical(np.array([1.0, 2.0]), (10,)) == (0,)


def test_a_warrant_trades_from_listing_until_before_expiry() -> None:
    elw = BY_CODE["57K001"]
    market = Market(SIM_CONFIG)
    bars = market.elw_bars(elw.code, dt.date(2026, 4, 1), dt.date(2026, 5, 29))
    assert bars[0].date == elw.list_date
    assert last_trading_day(elw) < elw.expiry
    assert market.elw_bars("005930", START, END) == []
    assert Market(SIM_CONFIG).elw_bars("57K002", START, END) == market.elw_bars(
        "57K002", START, END
    )
