"""The simulator's delayed overseas trades (HDFSCNT0): a ticker's local day on its exchange's
clock, ending on its daily bar, silent over a lunch break, with Korean and local times."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.common.clock import KST
from kis_pipeline.common.overseas_exchanges import EXCHANGES
from kis_pipeline.kis.ws import protocol
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.overseas_ticks import OverseasTape, parse_key
from kis_pipeline.simulator.session_clock import exchange_hours
from kis_pipeline.simulator.ticks import TickGenerator, build_frames

EVENING = dt.datetime(2026, 11, 20, 18, 0, tzinfo=KST)
CONFIG = SimConfig(seed=11, universe=20, start=dt.date(2025, 1, 2), now=EVENING)


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(CONFIG)


def test_feed_keys_name_a_listed_ticker_on_its_exchange() -> None:
    assert parse_key("DNASAAPL") == ("NAS", "AAPL")
    assert parse_key("RHKS00700") == ("HKS", "00700")
    assert parse_key("DNYSAAPL") is None  # AAPL is not a NYSE ticker
    assert parse_key("XNASAAPL") is None and parse_key("DNAS") is None


def test_a_full_local_day_ends_on_the_tickers_daily_bar(market: Market) -> None:
    day = dt.date(2026, 11, 19)
    bar = market.overseas_session_bar("NAS", "AAPL", day)
    assert bar is not None and bar == market.overseas_bars("NAS", "AAPL", day, day)[0]
    tape = OverseasTape("DNASAAPL", bar, seed=11)
    hours = exchange_hours("NAS")
    records = []
    for second in range(hours.open_s, hours.close_s, 2):
        records += tape.records(2, second + 0.5)
    parsed = protocol.parse_frames("HDFSCNT0", [t for t, _ in build_frames("HDFSCNT0", records)])
    assert parsed.errors == []
    frame = parsed.frame
    prices = [float(p) for p in frame["LAST"].to_list()]
    assert prices[0] == bar.open and prices[-1] == bar.close
    assert (max(prices), min(prices)) == (bar.high, bar.low)
    volume = int(frame["TVOL"][-1])
    assert sum(int(v) for v in frame["EVOL"].to_list()) == volume
    assert abs(volume - bar.volume) < bar.volume * 0.01
    # 09:30 in New York is 23:30 in Seoul that November day.
    first = frame.row(0, named=True)
    assert (first["XYMD"], first["XHMS"]) == ("20261119", "093000")
    assert (first["KYMD"], first["KHMS"]) == ("20261119", "233000")
    local = dt.datetime(2026, 11, 19, 15, 59, 58, tzinfo=EXCHANGES["NAS"].zone)
    assert frame["KHMS"][-1] == local.astimezone(KST).strftime("%H%M%S")


def test_hong_kong_is_silent_over_lunch_and_the_ws_accepts_only_listed_tickers(
    market: Market,
) -> None:
    lunch = SimConfig(
        seed=11,
        universe=20,
        start=dt.date(2025, 1, 2),
        now=dt.datetime(2026, 11, 20, 13, 30, tzinfo=KST),  # 12:30 in Hong Kong
    )
    generator = TickGenerator(Market(lunch), 1_000.0)
    generator.add_feed("HDFSCNT0", "DHKS00700")
    assert generator.generate(0.25) == []
    assert generator.is_key("HDFSCNT0", "DHKS00700")
    assert not generator.is_key("HDFSCNT0", "DHKS99999")
    evening = TickGenerator(market, 1_000.0)
    evening.add_feed("HDFSCNT0", "DNASAAPL")
    ((tr_id, key, records),) = evening.generate(0.25)
    assert (tr_id, key) == ("HDFSCNT0", "DNASAAPL") and records
    assert {len(r.split("^")) for r in records} == {26}
