"""`MarketView`: the REST side's read-only window on the `Market`, with small per-day caches.

Everything the REST handlers derive beyond the Market's public API lives here: the previous
session of a day, a symbol's last traded bar, whole-universe day snapshots for the rankings,
index names in Korean, KOSPI200 membership, the synthetic order-book quantities of a quote,
and the deterministic "noise" used for reference fields the market does not model.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kis_pipeline.simulator.market_indices import sub_indices
from kis_pipeline.simulator.masters import sector_code

T = TypeVar("T")

# Korean names KIS uses for the index rows (hts_kor_isnm / inter_kor_isnm).
INDEX_NAMES_KR = {"0001": "종합", "1001": "코스닥", "2001": "코스피200"}
# Market-wide investor flows name the market by this code (FID_INPUT_ISCD_1, SPEC §9.1).
MARKET_BY_FLOW_CODE = {"KSP": "KOSPI", "KSQ": "KOSDAQ"}
LAST_BAR_LOOKBACK_DAYS = 40
ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class DaySnap:
    """A symbol's bar on a session plus the previous session's bar (None on the first day)."""

    bar: Any
    prev: Any | None


def noise(*parts: object) -> float:
    """A stable fraction in [0, 1) for reference fields that only need to look plausible."""
    return zlib.crc32(":".join(map(str, parts)).encode()) / 2**32


class MarketView:
    def __init__(
        self, market: Any, executions: Callable[[str, str], list[str]] | None = None
    ) -> None:
        self.market = market
        # A symbol's newest trade records on a venue (J, NX, UN), oldest first (the WebSocket
        # tapes, ticks.py).
        self.executions = executions or (lambda symbol, venue: [])
        self._snapshots: dict[dt.date, dict[str, DaySnap]] = {}
        self._kospi200: frozenset[str] | None = None
        self._memo: dict[object, Any] = {}

    def memo(self, key: object, compute: Callable[[], T]) -> T:
        """A value derived from the market, computed once per key (keys should carry the
        session date so that a new session recomputes them)."""
        if key not in self._memo:
            if len(self._memo) > 256:
                self._memo.clear()
            self._memo[key] = compute()
        return self._memo[key]  # type: ignore[no-any-return]

    # ---- sessions ------------------------------------------------------------------------

    def session(self) -> dt.date:
        """The last completed session: what every snapshot endpoint describes."""
        return self.market.last_completed_session()

    def first_session(self) -> dt.date:
        return self.market.first_day()

    def prev_session(self, day: dt.date) -> dt.date | None:
        """The trading day before `day`, or None before the start of the history."""
        first = self.first_session()
        day -= ONE_DAY
        while day >= first:
            if self.market.is_trading_day(day):
                return day
            day -= ONE_DAY
        return None

    def sessions_until(self, end: dt.date, count: int) -> list[dt.date]:
        """Up to `count` trading days on or before `end`, newest first, within the history."""
        end = min(end, self.session())
        first = self.first_session()
        days: list[dt.date] = []
        day = end
        while day >= first and len(days) < count:
            if self.market.is_trading_day(day):
                days.append(day)
            day -= ONE_DAY
        return days

    # ---- stocks --------------------------------------------------------------------------

    def listing(self, symbol: str) -> Any | None:
        return self.market.listing(symbol)

    def bar(self, symbol: str, day: dt.date) -> Any | None:
        return self.market.bar(symbol, day)

    def day_snap(self, symbol: str, day: dt.date) -> DaySnap | None:
        bar = self.market.bar(symbol, day)
        if bar is None:
            return None
        prev_day = self.prev_session(day)
        prev = self.market.bar(symbol, prev_day) if prev_day is not None else None
        return DaySnap(bar, prev)

    def last_bar(self, symbol: str, day: dt.date) -> Any | None:
        """The bar of `day`, or of the symbol's last traded day before it (a halt)."""
        bars = self.market.daily_bars(symbol, day - dt.timedelta(days=LAST_BAR_LOOKBACK_DAYS), day)
        return bars[-1] if bars else None

    def universe_snapshot(self, day: dt.date) -> dict[str, DaySnap]:
        """Every symbol's `DaySnap` for one session (for rankings); the last two are cached."""
        cached = self._snapshots.get(day)
        if cached is not None:
            return cached
        snaps: dict[str, DaySnap] = {}
        for listing in self.market.listings:
            snap = self.day_snap(listing.symbol, day)
            if snap is not None:
                snaps[listing.symbol] = snap
        if len(self._snapshots) >= 2:
            self._snapshots.pop(next(iter(self._snapshots)))
        self._snapshots[day] = snaps
        return snaps

    def kospi200(self) -> frozenset[str]:
        if self._kospi200 is None:
            self._kospi200 = frozenset(self.market.index_members("2001"))
        return self._kospi200

    def representative_market(self, listing: Any) -> str:
        """rprs_mrkt_kor_name: KOSPI200 members are reported under that index."""
        return "KOSPI200" if listing.symbol in self.kospi200() else listing.market

    def in_market(self, listing: Any, code: str) -> bool:
        """Ranking filter FID_INPUT_ISCD: 0000 all, 0001 KOSPI, 1001 KOSDAQ, 2001 KOSPI200."""
        if code in ("", "0000"):
            return True
        if code == "0001":
            return listing.market == "KOSPI"
        if code == "1001":
            return listing.market == "KOSDAQ"
        if code == "2001":
            return listing.symbol in self.kospi200()
        # Any other code is a sector index: the same sector codes as the master files.
        return sector_code(listing.sector) == code

    # ---- indices -------------------------------------------------------------------------

    def is_index(self, code: str) -> bool:
        return code in self.market.INDEX_CODES or code in self.sub_indices()

    def sub_indices(self) -> dict[str, tuple[str, str]]:
        """The sector sub-indices by code: (sector name, parent index code)."""
        return self.memo("sub_indices", lambda: sub_indices(self.market.book.specs))

    def index_bars(self, code: str, start: dt.date, end: dt.date) -> list[Any]:
        return self.market.index_bars(code, start, end)

    def index_bar(self, code: str, day: dt.date) -> Any | None:
        bars = self.market.index_bars(code, day, day)
        return bars[0] if bars else None


def is_preferred(symbol: str) -> bool:
    """KRX preferred shares have a short code that does not end in 0 (005935, 00088K)."""
    return not symbol.endswith("0")


def resting_quantities(symbol: str, day: dt.date, volume: int) -> tuple[int, int, int, int]:
    """(best ask qty, best bid qty, total ask qty, total bid qty) of a closing order book."""
    scale = max(volume, 1000)
    best_ask = int(scale * (0.0005 + 0.002 * noise(symbol, day, "ask1")))
    best_bid = int(scale * (0.0005 + 0.002 * noise(symbol, day, "bid1")))
    total_ask = best_ask + int(scale * (0.01 + 0.04 * noise(symbol, day, "ask")))
    total_bid = best_bid + int(scale * (0.01 + 0.04 * noise(symbol, day, "bid")))
    return best_ask, best_bid, total_ask, total_bid
