"""The simulator's session clock: which session the WebSocket plays, and where in it, on each
venue's hours (`Hours`: KRX 09:00-15:30, Nextrade 08:00-20:00 with its two breaks).

During a venue's hours on a trading day the session follows the wall clock (or `config.now`
plus elapsed time). KRX opens and closes an hour late on the day of the college entrance exam:
its tapes run on a clock that starts at 09:00, so that day the clock is an hour behind the wall
and the tapes add the hour back to the times they print (`late_open_s`). Nextrade's hours are
kept as they are.

Otherwise the simulator plays a synthetic session for the next trading day after the last
completed one, starting at the venue's open when it begins and advancing with real time; it
stays at the last second before the close once it gets there, so record times never go
backwards (except at the open of a trading day, when a synthetic session begun before it hands
over to the wall clock). Frames carry that session's date (BSOP_DATE), and when it changes
every tape starts the new day afresh."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from kis_pipeline.common import krx_calendar
from kis_pipeline.common.overseas_exchanges import EXCHANGES
from kis_pipeline.simulator.market_overseas import last_completed_day
from kis_pipeline.simulator.overseas_holidays import is_open

SESSION_OPEN_S = 9 * 3600
SESSION_CLOSE_S = 15 * 3600 + 30 * 60


@dataclass(frozen=True)
class Hours:
    """A venue's trading day in seconds after midnight KST: [open_s, close_s), without trades in
    `breaks`. `late_open` venues move with KRX's exam-day late open (`late_open_s`)."""

    name: str
    open_s: int
    close_s: int
    breaks: tuple[tuple[int, int], ...] = ()
    late_open: bool = False
    # An overseas exchange's (`common.overseas_exchanges`): its local clock and calendar.
    exchange: str = ""

    @property
    def length(self) -> int:
        return self.close_s - self.open_s

    def shift(self, day: dt.date) -> int:
        return late_open_s(day) if self.late_open else 0

    def trading(self, seconds: float) -> bool:
        """Whether `seconds` (on this venue's clock) is inside a session, not a break."""
        return not any(start <= seconds < end for start, end in self.breaks)


KRX_HOURS = Hours("KRX", SESSION_OPEN_S, SESSION_CLOSE_S, late_open=True)
# Nextrade: pre-market 08:00-08:50, main market 09:00:30-15:20 (it pauses for KRX's closing
# auction), after-market 15:40-20:00.
NXT_HOURS = Hours(
    "NXT",
    8 * 3600,
    20 * 3600,
    breaks=((8 * 3600 + 50 * 60, 9 * 3600 + 30), (15 * 3600 + 20 * 60, 15 * 3600 + 40 * 60)),
)


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
        # Per venue hours: the synthetic session being played and when it began.
        self._synthetic: dict[str, tuple[dt.date, float]] = {}

    def wall(self) -> dt.datetime:
        """The market's notion of now (a fixed `config.now` advances with real time)."""
        if self._fixed_now is not None:
            return self._now0 + dt.timedelta(seconds=self._mono() - self._t0)
        return self._market.now()

    def now(self, hours: Hours = KRX_HOURS) -> tuple[dt.date, float]:
        """(session date, seconds after midnight on the session clock) of a venue: KST, or an
        overseas exchange's local time and date."""
        wall = self.wall()
        if hours.exchange:
            wall = wall.astimezone(EXCHANGES[hours.exchange].zone)
        seconds = wall.hour * 3600 + wall.minute * 60 + wall.second + wall.microsecond / 1e6
        today = wall.date()
        shift = hours.shift(today)
        if hours.open_s + shift <= seconds < hours.close_s + shift and self._open(hours, today):
            self._synthetic.pop(hours.name, None)
            # On the tape's own clock, which starts at the venue's open (`late_open_s` shifts
            # KRX's prints).
            return today, seconds - shift
        return self._synthetic_now(wall, hours)

    def _open(self, hours: Hours, day: dt.date) -> bool:
        if hours.exchange:
            return is_open(EXCHANGES[hours.exchange].country, day)
        return self._market.is_trading_day(day)

    def _synthetic_now(self, wall: dt.datetime, hours: Hours) -> tuple[dt.date, float]:
        if hours.exchange:
            last = last_completed_day(hours.exchange, wall)
        else:
            last = self._market.last_completed_session(wall)
        session = _next_open_day(lambda day: self._open(hours, day), last)
        played = self._synthetic.get(hours.name)
        if played is None or played[0] != session:
            played = self._synthetic[hours.name] = (session, self._mono())
        elapsed = self._mono() - played[1]
        return session, min(hours.open_s + elapsed, hours.close_s - 1)

    def last_completed(self) -> dt.date:
        return self._market.last_completed_session(self.wall())


def late_open_s(day: dt.date) -> int:
    """Seconds the regular session of `day` starts after 09:00: an hour on an exam day. Tapes
    run on a 09:00 clock and add this to the times they print."""
    opens = krx_calendar.session_hours(day)[0]
    return (opens.hour - 9) * 3600 + opens.minute * 60


def _next_open_day(is_open_day: Callable[[dt.date], bool], day: dt.date) -> dt.date:
    nxt = day + dt.timedelta(days=1)
    for _ in range(60):
        if is_open_day(nxt):
            return nxt
        nxt += dt.timedelta(days=1)
    return day + dt.timedelta(days=1)


@functools.cache
def exchange_hours(excd: str) -> Hours:
    """An overseas exchange's regular day on its local clock, its lunch break a break."""
    sessions = [(_seconds(a), _seconds(b)) for a, b in EXCHANGES[excd].sessions]
    breaks = tuple((a[1], b[0]) for a, b in itertools.pairwise(sessions))
    return Hours(excd, sessions[0][0], sessions[-1][1], breaks, exchange=excd)


def _seconds(moment: dt.time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def hhmmss(seconds: int) -> str:
    return f"{seconds // 3600:02d}{seconds // 60 % 60:02d}{seconds % 60:02d}"
