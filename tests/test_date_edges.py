"""Dates at the edges outside the assets: the partition schemes and a backfill's keys, the
KRX calendar as written down, and the simulator's session clock around midnight in Seoul."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from kis_pipeline.cli import dagster_runner as runner
from kis_pipeline.common import krx_calendar as cal
from kis_pipeline.common.clock import KST
from kis_pipeline.defs.calendar.partitions import calendar_years as years
from kis_pipeline.lib.partitions import trading_days
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.session_clock import SessionClock
from kis_pipeline.simulator.ticks import TickGenerator
from kis_pipeline.streaming.market_hours import TradingCalendar

D = dt.date


def time_window_schemes() -> dict[str, dg.TimeWindowPartitionsDefinition]:
    """Every time-window partition scheme of the code location, named by its first asset."""
    from kis_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    schemes = {}
    for name in sorted(k.to_user_string() for k in graph.materializable_asset_keys):
        scheme = graph.get(dg.AssetKey.from_user_string(name)).partitions_def
        if isinstance(scheme, dg.TimeWindowPartitionsDefinition):
            schemes.setdefault(repr(scheme), (name, scheme))
    return dict(schemes.values())


SCHEMES = time_window_schemes()


# Year ends where a weekend touches Dec 31 or Jan 1 from either side (Dec 31 a Friday,
# Saturday, Sunday, Monday), each range starting and ending on a different weekday.
YEAR_END_RANGES = [
    (D(2021, 12, 26), D(2022, 1, 2)),  # Sunday .. Sunday
    (D(2022, 12, 31), D(2023, 1, 1)),  # Saturday .. Sunday
    (D(2023, 12, 29), D(2024, 1, 6)),  # Friday .. Saturday
    (D(2018, 12, 29), D(2019, 1, 1)),  # Saturday .. Tuesday (New Year's Day)
]


@pytest.mark.parametrize("asset", sorted(SCHEMES))
def test_a_ranges_keys_cover_every_day_and_nothing_outside_it(asset: str) -> None:
    """A backfill asks for the keys whose windows overlap its range: together they hold every
    day of it (a weekend at either end included) and each holds a day of it."""
    scheme = SCHEMES[asset]
    for start, end in YEAR_END_RANGES:
        keys = runner.partition_keys_in_range(scheme, start, end)
        windows = [scheme.time_window_for_partition_key(k) for k in keys]
        spans = [(w.start.date(), w.end.date()) for w in windows]
        day = start
        while day <= end:
            assert any(a <= day < b for a, b in spans), (asset, start, end, day)
            day += dt.timedelta(days=1)
        assert all(a <= end and b > start for a, b in spans), (asset, start, end, keys)


def test_keys_of_a_weekend_at_a_year_end() -> None:
    # 2022-12-31 is a Saturday: its weekend is in the window of Friday 2022-12-30.
    assert runner.partition_keys_in_range(trading_days, D(2022, 12, 31), D(2023, 1, 1)) == [
        "2022-12-30"
    ]
    assert runner.partition_keys_in_range(trading_days, D(2023, 12, 30), D(2024, 1, 2)) == [
        "2023-12-29",
        "2024-01-01",
        "2024-01-02",
    ]
    assert runner.partition_keys_in_range(years, D(2024, 1, 1), D(2024, 12, 31)) == ["2024"]
    assert runner.partition_keys_in_range(years, D(2024, 12, 31), D(2025, 1, 1)) == [
        "2024",
        "2025",
    ]


# -- krx_calendar ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "closing", "last_session"),
    [
        (2022, D(2022, 12, 30), D(2022, 12, 29)),  # Dec 31 a Saturday: Friday closes
        (2023, D(2023, 12, 29), D(2023, 12, 28)),  # Dec 31 a Sunday
        (2024, D(2024, 12, 31), D(2024, 12, 30)),
        (2027, D(2027, 12, 31), D(2027, 12, 30)),  # Dec 27 the Christmas substitute
    ],
)
def test_year_end_closing_and_the_sessions_either_side(
    year: int, closing: dt.date, last_session: dt.date
) -> None:
    assert cal.year_end_closing_day(year) == closing
    first = cal.next_trading_day(D(year, 12, 31))
    assert first.year == year + 1 and first.month == 1 and cal.is_trading_day(first)
    assert cal.previous_trading_day(first) == last_session
    assert cal.trading_days(last_session, first) == [last_session, first]


def test_last_completed_session_at_the_first_close_of_a_year() -> None:
    # 2025-01-02 is the first session; 15:30 KST is 06:30 UTC.
    before = dt.datetime(2025, 1, 2, 15, 29, 59, tzinfo=KST)
    assert cal.last_completed_session(before) == D(2024, 12, 30)
    assert cal.last_completed_session(dt.datetime(2025, 1, 2, 6, 30, tzinfo=dt.UTC)) == D(
        2025, 1, 2
    )
    # Just after midnight in Seoul (still Jan 1 in UTC) and a naive time taken as Seoul's.
    assert cal.last_completed_session(dt.datetime(2025, 1, 1, 15, 1, tzinfo=dt.UTC)) == D(
        2024, 12, 30
    )
    assert cal.last_completed_session(dt.datetime(2025, 1, 2, 15, 30)) == D(2025, 1, 2)


# -- the simulator's session clock at night -----------------------------------------------------


class Ticker:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_the_synthetic_night_session_keeps_its_date_across_midnight_and_the_new_year() -> None:
    """After the last session of 2026 (Wed Dec 30) the simulator plays the next one, Mon
    2027-01-04, through midnight and the two holidays, with record times only moving on."""
    evening = dt.datetime(2026, 12, 30, 23, 59, 50, tzinfo=KST)
    ticker = Ticker()
    clock = SessionClock(Market(SimConfig(seed=3, universe=5, now=evening)), monotonic=ticker)
    seen = []
    for elapsed in (0.0, 20.0, 3600.0, 86_400.0):  # 23:59:50, 00:00:10, 00:59:50, Dec 31 23:59:50
        ticker.t = 1000.0 + elapsed
        seen.append(clock.now())
    assert {day for day, _ in seen} == {D(2027, 1, 4)}
    seconds = [s for _, s in seen]
    assert seconds == sorted(seconds) and seconds[1] - seconds[0] == pytest.approx(20.0)


# -- the college entrance exam: the market opens and closes an hour late --------------------

EXAM = D(2026, 11, 19)


def test_on_an_exam_day_the_session_runs_10_to_16_30_and_settles_after() -> None:
    assert cal.session_hours(EXAM) == (dt.time(10, 0), dt.time(16, 30))
    assert cal.session_hours(D(2026, 11, 20)) == (dt.time(9, 0), dt.time(15, 30))
    at = dt.datetime.combine(EXAM, dt.time(16, 0), KST)
    assert cal.last_completed_session(at) == D(2026, 11, 18)  # still trading at 16:00
    assert cal.last_completed_session(at + dt.timedelta(minutes=30)) == EXAM


def test_the_collector_keeps_streaming_the_exam_days_last_hour() -> None:
    calendar = TradingCalendar()
    at_four = dt.datetime.combine(EXAM, dt.time(16, 0), KST)
    assert calendar.session_end(at_four) == dt.datetime.combine(EXAM, dt.time(16, 45), KST)


def test_the_simulators_tapes_open_at_10_on_an_exam_day() -> None:
    """Trades printed on the exam day start at 10:00:00 and run to 16:29:59; before 10:00 the
    simulator plays its synthetic session, as before any open."""
    ticker = Ticker()
    ten = dt.datetime.combine(EXAM, dt.time(10, 0), KST)
    market = Market(SimConfig(seed=3, universe=5, now=ten))
    generator = TickGenerator(market, 100.0, clock=SessionClock(market, monotonic=ticker))
    symbol = market.listings[0].symbol
    day, seconds = generator.clock.now()
    assert (day, seconds) == (EXAM, 9 * 3600)  # the tape's 09:00 clock at the 10:00 open
    tape = generator.tape(symbol, day, seconds)
    first = tape.trades(1, seconds)[0]
    assert first.split("^")[1] == "100000"
    ticker.t += 6.5 * 3600 - 1  # 16:29:59
    day, seconds = generator.clock.now()
    assert day == EXAM and tape.trades(1, seconds)[0].split("^")[1] == "162959"
