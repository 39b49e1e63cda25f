"""Names listed and delisted inside the modelled history, so that a backfill of a past year
has a survivorship question to answer.

Each name comes to market on its listing date (an IPO, which the KSD listing schedule shows as
`신규상장`) and trades until the session before its delisting date, sliding over its last
quarter and falling through its liquidation sessions, as delisted stocks do. Only the endpoints a
backfill of the past needs know them: the daily chart (SPEC §7.3) serves their bars up to the
last session, stock basic info (§10.9) their listing and delisting dates, and the KSD listing
schedule their IPO. Every other endpoint, the master files included, treats their codes as
unknown, as it would a code delisted today; their flows and activity are not modelled.

A name whose delisting the clock has not reached yet would still be listed, in the master files
and in every endpoint; the model leaves such a name out altogether instead (as it does the
former listings of `market_company` for a history that starts before their delisting), so the
listed universe never depends on these names.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from kis_pipeline.common import krx_calendar as cal
from kis_pipeline.simulator.market_bars import bar_at
from kis_pipeline.simulator.market_prices import PriceBook
from kis_pipeline.simulator.market_ticks import round_tick
from kis_pipeline.simulator.market_types import DailyBar, Listing
from kis_pipeline.simulator.market_universe import SymbolSpec

# A seed of their own: the listed universe's draws stay exactly as they were.
_SEED_OFFSET = 7_919


@dataclass(frozen=True)
class LaterDelisting(Listing):
    """A name listed on `list_date` and delisted on `delist_date`, both inside the history."""

    delist_date: dt.date  # the first day it is no longer listed
    ipo_price: int


# code, name, market, shares and par value, listing date, sector, delisting date, IPO price.
LATER_DELISTINGS: tuple[LaterDelisting, ...] = (
    LaterDelisting(
        "037565",
        "시뮬해운",
        "KOSPI",
        20_000_000,
        5_000,
        dt.date(2016, 5, 10),
        "운수창고업",
        dt.date(2020, 6, 15),
        12_000,
    ),
    LaterDelisting(
        "128945",
        "시뮬게임즈",
        "KOSDAQ",
        15_000_000,
        500,
        dt.date(2018, 11, 20),
        "서비스업",
        dt.date(2023, 3, 31),
        8_000,
    ),
)


class DelistedBook:
    """The bars of the later delistings the clock has passed, one price book per name."""

    def __init__(self, seed: int, first_day: dt.date, last_session: dt.date) -> None:
        self.names = {
            x.symbol: x
            for x in LATER_DELISTINGS
            if first_day < x.list_date and x.delist_date <= last_session
        }
        # A book from the IPO to the last session: the walk starts at the IPO price.
        self._books = {
            x.symbol: _slide(
                PriceBook(
                    seed + _SEED_OFFSET + i,
                    [_spec(x)],
                    cal.trading_days(x.list_date, cal.previous_trading_day(x.delist_date)),
                    [],
                )
            )
            for i, x in enumerate(self.names.values())
        }

    def bars(self, symbol: str, start: dt.date, end: dt.date) -> list[DailyBar]:
        book = self._books.get(symbol)
        if book is None:
            return []
        return [
            bar_at(book, row, 0, {}) for row, day in enumerate(book.days) if start <= day <= end
        ]

    def last_close(self, symbol: str) -> int:
        return int(self._books[symbol].close[-1, 0])


# How a listing ends: a slide over its last quarter to half its level (the trouble that gets
# a stock delisted), then the liquidation sessions (정리매매) down to a tenth of it.
SLIDE_SESSIONS = 60
LIQUIDATION_SESSIONS = 7
SLIDE_TO, LIQUIDATED_TO = 0.5, 0.1


def _slide(book: PriceBook) -> PriceBook:
    n = len(book.days)
    scale = np.ones(n)
    slide = np.arange(n) - (n - SLIDE_SESSIONS)
    falling = (slide >= 0) & (slide < SLIDE_SESSIONS - LIQUIDATION_SESSIONS)
    scale[falling] = 1 - (1 - SLIDE_TO) * slide[falling] / (SLIDE_SESSIONS - LIQUIDATION_SESSIONS)
    last = np.arange(n) - (n - LIQUIDATION_SESSIONS)
    ending = last >= 0
    scale[ending] = SLIDE_TO * (LIQUIDATED_TO / SLIDE_TO) ** (
        (last[ending] + 1) / LIQUIDATION_SESSIONS
    )
    for prices in (book.open, book.high, book.low, book.close):
        prices[:, 0] = round_tick(prices[:, 0] * scale).astype(prices.dtype)
    return book


def _spec(x: LaterDelisting) -> SymbolSpec:
    return SymbolSpec(
        x.symbol,
        x.name,
        x.market,
        x.listed_shares,
        x.par_value,
        x.list_date,
        x.sector,
        float(x.ipo_price),
        False,
    )
