"""When the collector runs: trading days (calendar-aware), 08:30-15:45 KST; stop rules."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.common.clock import KST
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.streaming.market_hours import TradingCalendar
from kis_pipeline.streaming.runner import MarketClosed, StreamOptions, stop_time


def at(day: str, hhmm: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=KST)


def test_window_on_trading_days_only() -> None:
    calendar = TradingCalendar()
    assert calendar.session_end(at("2026-11-20", "10:00")) == at("2026-11-20", "15:45")
    assert calendar.session_end(at("2026-11-20", "08:29")) is None
    assert calendar.session_end(at("2026-11-20", "15:45")) is None
    assert calendar.session_end(at("2026-11-21", "10:00")) is None  # Saturday
    assert calendar.session_end(at("2026-10-05", "10:00")) is None  # Chuseok
    assert calendar.next_start(at("2026-11-20", "16:00")) == at("2026-11-23", "08:30")
    assert calendar.next_start(at("2026-11-23", "09:10")) == at("2026-11-23", "09:10")


@pytest.mark.parametrize("venue", ["NXT", "KRX+NXT"])
def test_nextrades_feeds_run_from_its_pre_market_to_its_evening_close(venue: str) -> None:
    calendar = TradingCalendar(venue=venue)
    assert calendar.session_end(at("2026-11-20", "18:00")) == at("2026-11-20", "20:15")
    assert calendar.session_end(at("2026-11-20", "07:49")) is None
    assert calendar.next_start(at("2026-11-20", "20:30")) == at("2026-11-23", "07:50")
    assert calendar.session_end(at("2026-11-21", "18:00")) is None  # Saturday


def test_the_warehouse_calendar_wins_where_it_knows_the_day() -> None:
    closed = dt.date(2026, 11, 20)
    calendar = TradingCalendar(lambda day: False if day == closed else None)
    assert calendar.session_end(at("2026-11-20", "10:00")) is None
    assert calendar.session_end(at("2026-11-19", "10:00")) is not None


def test_stop_rules_without_duration(monkeypatch: pytest.MonkeyPatch) -> None:
    lines: list[str] = []
    never = TradingCalendar(lambda day: False)
    sim = KisSettings.from_env({"KIS_ENV": "sim"})
    real = KisSettings.from_env({"KIS_ENV": "real", "KIS_APP_KEY": "k", "KIS_APP_SECRET": "s"})
    assert stop_time(sim, StreamOptions(duration_s=5), never, lines.append) is None
    assert stop_time(sim, StreamOptions(), never, lines.append) is None  # until stopped
    assert "synthetic session" in lines[-1]
    with pytest.raises(MarketClosed, match="--duration"):
        stop_time(real, StreamOptions(), never, lines.append)
    always = TradingCalendar(lambda day: True)
    now = dt.datetime.now(KST)
    if dt.time(8, 30) <= now.time() < dt.time(15, 44):
        end = stop_time(real, StreamOptions(), always, lines.append)
        assert end == dt.datetime.combine(now.date(), dt.time(15, 45), KST)
    elif not dt.time(15, 44) <= now.time() < dt.time(15, 46):
        with pytest.raises(MarketClosed, match="next window opens"):
            stop_time(real, StreamOptions(), always, lines.append)
