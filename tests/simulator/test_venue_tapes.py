"""The simulator's Nextrade and combined tapes (H0NX*, H0UN*): Nextrade's longer hours and
breaks, a day that ends on the venue's own daily bar, the venues' wider record layouts, and
silence where Nextrade does not trade a name."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from kis_pipeline.common.clock import KST
from kis_pipeline.kis.ws import protocol
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.session_clock import KRX_HOURS, NXT_HOURS, SessionClock
from kis_pipeline.simulator.session_plan import session_plan
from kis_pipeline.simulator.ticks import SymbolTape, TickGenerator, build_frames
from kis_pipeline.simulator.venues import NXT, nxt_on, on_venue

FRIDAY = dt.date(2026, 11, 20)
EVENING = dt.datetime(2026, 11, 20, 18, 0, tzinfo=KST)
CONFIG = SimConfig(seed=11, universe=20, start=dt.date(2025, 1, 2), now=EVENING)


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(CONFIG)


def _symbols(market: Market, on_nxt: bool) -> list[str]:
    return [x.symbol for x in market.listings if nxt_on(x, FRIDAY) == on_nxt]


def test_the_clock_plays_nextrades_evening_while_krx_plays_the_next_session(
    market: Market,
) -> None:
    clock = SessionClock(market)
    day, seconds = clock.now(NXT_HOURS)
    assert day == FRIDAY and 18 * 3600 <= seconds < 18 * 3600 + 5
    day, seconds = clock.now(KRX_HOURS)
    assert day == dt.date(2026, 11, 23) and 9 * 3600 <= seconds < 9 * 3600 + 5
    # Nextrade pauses before its main market and for KRX's closing auction.
    assert not NXT_HOURS.trading(8 * 3600 + 55 * 60)
    assert not NXT_HOURS.trading(15 * 3600 + 25 * 60)
    assert NXT_HOURS.trading(8 * 3600 + 10 * 60) and NXT_HOURS.trading(19 * 3600)


def test_a_full_nextrade_day_ends_on_its_nxt_bar(market: Market) -> None:
    symbol = _symbols(market, True)[0]
    plan = session_plan(market, symbol, FRIDAY, dt.date(2026, 11, 19), seed=11, venue=NXT)
    assert plan is not None
    listing = market.listing(symbol)
    bar = on_venue(NXT, listing, market.session_bar(symbol, FRIDAY))
    assert bar is not None
    assert (plan.open, plan.high, plan.low, plan.close, plan.volume) == (
        bar.open,
        bar.high,
        bar.low,
        bar.close,
        bar.volume,
    )
    tape = SymbolTape(plan, seed=11, start_s=NXT_HOURS.open_s, hours=NXT_HOURS, venue=NXT)
    records = []
    for second in range(NXT_HOURS.open_s, NXT_HOURS.close_s, 2):
        records += tape.trades(2, second + 0.5)
    day = protocol.parse_frames("H0NXCNT0", [t for t, _ in build_frames("H0NXCNT0", records)])
    assert day.errors == []
    prices = [int(p) for p in day.frame["STCK_PRPR"].to_list()]
    assert prices[0] == bar.open and prices[-1] == bar.close
    assert (max(prices), min(prices)) == (bar.high, bar.low)
    assert day.frame["STCK_CNTG_HOUR"][0] == "080000"
    assert day.frame["STCK_CNTG_HOUR"][-1] == "195958"
    volume = int(day.frame["ACML_VOL"][-1])
    assert abs(volume - bar.volume) < bar.volume * 0.01


def test_nextrade_feeds_stay_silent_in_breaks_and_for_names_it_does_not_trade(
    market: Market,
) -> None:
    traded, not_traded = _symbols(market, True)[0], _symbols(market, False)[0]
    generator = TickGenerator(market, 1_000.0)
    for feed in (
        ("H0NXCNT0", traded),
        ("H0NXCNT0", not_traded),
        ("H0UNCNT0", not_traded),
        ("H0STCNT0", traded),
    ):
        generator.add_feed(*feed)
    due = {(tr, symbol): records for tr, symbol, records in generator.generate(0.25)}
    assert ("H0NXCNT0", not_traded) not in due
    assert due[("H0NXCNT0", traded)] and due[("H0STCNT0", traded)]
    # Each venue's own day: Nextrade's evening, KRX's next session; the combined market of a
    # name Nextrade does not trade is KRX's.
    assert {r.split("^")[1][:2] for r in due[("H0NXCNT0", traded)]} == {"18"}
    assert {r.split("^")[1][:2] for r in due[("H0STCNT0", traded)]} == {"09"}
    assert {r.split("^")[1][:2] for r in due[("H0UNCNT0", not_traded)]} == {"09"}
    assert generator.executions(NXT) == {traded: len(due[("H0NXCNT0", traded)])}

    in_break = dataclasses.replace(CONFIG, now=dt.datetime(2026, 11, 20, 15, 30, tzinfo=KST))
    paused = TickGenerator(Market(in_break), 1_000.0)
    paused.add_feed("H0NXCNT0", traded)
    assert paused.generate(0.25) == []


@pytest.mark.parametrize(("tr_id", "width"), [("H0NXASP0", 65), ("H0UNANC0", 46)])
def test_the_venues_wider_layouts_parse(market: Market, tr_id: str, width: int) -> None:
    symbol = _symbols(market, True)[0]
    generator = TickGenerator(market, 1_000.0)
    generator.add_feed(tr_id, symbol)
    ((_, _, records),) = generator.generate(0.25)
    assert {len(r.split("^")) for r in records} == {width}
    parsed = protocol.parse_frames(tr_id, [t for t, _ in build_frames(tr_id, records)])
    assert parsed.errors == [] and parsed.records == len(records)
