"""The simulator's session clock: which KRX session the WebSocket plays, and where in it.

During KRX hours (09:00-15:30 KST; 10:00-16:30 on the day of the college entrance exam) on a
trading day the session follows the wall clock (or `config.now` plus elapsed time). The tapes
run on a clock that starts at 09:00, so on the exam day the clock is an hour behind the wall
and the tapes add the hour back to the times they print (`late_open_s`).

Otherwise the simulator plays a synthetic session for the next trading day after the last
completed one, starting at 09:00:00 when it begins and advancing with real time; it stays at
15:29:59 once it gets there, so record times never go backwards (except at the open of a
trading day, when a synthetic session begun before it hands over to the wall clock). Frames
carry that session's date (BSOP_DATE), and when it changes every tape starts the new day
afresh.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any, Protocol

from kis_pipeline.common import krx_calendar

SESSION_OPEN_S = 9 * 3600
SESSION_CLOSE_S = 15 * 3600 + 30 * 60
_LAST_SECOND = SESSION_CLOSE_S - 1


class MarketLike(Protocol):
    """What the tick layer needs from `simulator.market.Market`."""

    config: Any

    def now(self) -> dt.datetime: ...
    def last_completed_session(self, now: dt.datetime | None = None) -> dt.date: ...
    def is_trading_day(self, day: dt.date) -> bool: ...
    def listing(self, symbol: str) -> Any: ...
    def bar(self, symbol: str, day: dt.date) -> Any: ...


class SessionClock:
    """Maps real time onto (session date, seconds after midnight) as described above."""

    def __init__(self, market: MarketLike, *, monotonic: Callable[[], float] = time.monotonic):
        self._market = market
        self._mono = monotonic
        self._t0 = monotonic()
        self._fixed_now: dt.datetime | None = getattr(market.config, "now", None)
        self._now0 = market.now()
        self._synthetic_date: dt.date | None = None
        self._synthetic_t0 = 0.0

    def wall(self) -> dt.datetime:
        """The market's notion of now (a fixed `config.now` advances with real time)."""
        if self._fixed_now is not None:
            return self._now0 + dt.timedelta(seconds=self._mono() - self._t0)
        return self._market.now()

    def now(self) -> tuple[dt.date, float]:
        """(session date, seconds after midnight KST on the session clock)."""
        wall = self.wall()
        seconds = wall.hour * 3600 + wall.minute * 60 + wall.second + wall.microsecond / 1e6
        today = wall.date()
        shift = late_open_s(today)
        if (
            SESSION_OPEN_S + shift <= seconds < SESSION_CLOSE_S + shift
            and self._market.is_trading_day(today)
        ):
            self._synthetic_date = None
            # On the tape's own clock, which starts at 09:00 (`late_open_s` shifts its prints).
            return today, seconds - shift
        return self._synthetic(wall)

    def _synthetic(self, wall: dt.datetime) -> tuple[dt.date, float]:
        last = self._market.last_completed_session(wall)
        session = _next_trading_day(self._market, last)
        if session != self._synthetic_date:
            self._synthetic_date = session
            self._synthetic_t0 = self._mono()
        elapsed = self._mono() - self._synthetic_t0
        return session, min(SESSION_OPEN_S + elapsed, _LAST_SECOND)

    def last_completed(self) -> dt.date:
        return self._market.last_completed_session(self.wall())


def late_open_s(day: dt.date) -> int:
    """Seconds the regular session of `day` starts after 09:00: an hour on an exam day. Tapes
    run on a 09:00 clock and add this to the times they print."""
    opens = krx_calendar.session_hours(day)[0]
    return (opens.hour - 9) * 3600 + opens.minute * 60


def _next_trading_day(market: MarketLike, day: dt.date) -> dt.date:
    nxt = day + dt.timedelta(days=1)
    for _ in range(60):
        if market.is_trading_day(nxt):
            return nxt
        nxt += dt.timedelta(days=1)
    return day + dt.timedelta(days=1)


def hhmmss(seconds: int) -> str:
    return f"{seconds // 3600:02d}{seconds // 60 % 60:02d}{seconds % 60:02d}"
