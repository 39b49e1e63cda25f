"""Market activity read off the price book: program trading, short sales, the volume by the
side that took each trade, and the margin-loan, stock-loan and securities-lending balances.

Everything a day holds follows from that day's bar, so the figures agree with the prices:
- program buys and sells are each a slice of the day's volume (never more than it), leaning
  with the day's move; their values are at the day's average price (value / volume), so no
  value exceeds the day's; the net is the buy less the sell, exactly;
- short sales are a slice of the volume (and the value) too;
- the volume taken by buyers and by sellers adds up to the day's volume;
- each member firm of `MEMBERS` takes a share of the buyers' and of the sellers' volume that
  moves from day to day; together they take less than the whole;
- a market's program trading (KOSPI, KOSDAQ) is the sum of its stocks' program trading, of
  which a share that moves from day to day is arbitrage (each side, volume and value, apart);
- a balance is a level per symbol that drifts with its listed shares and a slow cycle, with a
  daily wobble; the day's new and repaid shares are its change plus a churn both ways, so
  balance(D) = balance(previous session) + new - repaid, exactly, day after day.

One day is drawn for the whole universe at once and cached; a day needs no other day but the
session before it, so any day can be asked for first.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import numpy as np

from kis_pipeline.common import krx_calendar as cal
from kis_pipeline.simulator.market_prices import PriceBook, chunked

# Seed-sequence stream ids, fixed forever (see market_prices).
STREAM_ACTIVITY = 9
STREAM_ACTIVITY_PARAMS = 10
STREAM_MARKET_PROGRAM = 23
STREAM_MEMBERS = 24
BALANCES = ("loan", "stock_loan", "lending")
# Typical outstanding balance as a fraction of listed shares, KOSPI and KOSDAQ (or KONEX).
_LEVELS = {
    "loan": (0.004, 0.02),
    "stock_loan": (0.0003, 0.0001),
    "lending": (0.02, 0.006),
}
# Share of a day's volume traded by programs, and sold short, KOSPI and KOSDAQ.
_PROGRAM_SHARE = (0.14, 0.06)
_SHORT_SHARE = (0.04, 0.015)
# Share of a market's program trades that are arbitrage (index against futures), low and high.
_ARBITRAGE_SHARE = (0.03, 0.25)
MARKETS = ("KOSPI", "KOSDAQ", "KONEX")
# The member firms (brokers) whose daily trading the simulator serves (SPEC §9.13): 5-digit
# codes as in KIS's memcode master, 00003 first (the member of KIS's own sample).
MEMBERS = tuple(f"{n:05d}" for n in (3, 1, 2, 5, 6, 12, 17, 30, 36, 43, 44, 50))
# Share of each side's volume the listed members take together.
_MEMBER_COVER = 0.8


@dataclass(frozen=True)
class Balance:
    """One balance on one day: shares newly lent, repaid and outstanding."""

    new: int
    repaid: int
    balance: int


@dataclass(frozen=True)
class Activity:
    """One symbol's activity on one session (volumes in shares, values in KRW)."""

    date: dt.date
    symbol: str
    program_buy_volume: int
    program_sell_volume: int
    program_buy_value: int
    program_sell_value: int
    short_volume: int
    short_value: int
    buyer_volume: int
    seller_volume: int
    loan: Balance
    stock_loan: Balance
    lending: Balance
    # Member code -> (shares bought, shares sold) by that member firm.
    members: dict[str, tuple[int, int]]

    @property
    def program_net_volume(self) -> int:
        return self.program_buy_volume - self.program_sell_volume

    @property
    def program_net_value(self) -> int:
        return self.program_buy_value - self.program_sell_value


@dataclass(frozen=True)
class MarketProgram:
    """A market's program trading on one session: the sum over its stocks (shares, KRW), and
    the arbitrage part of each figure; the rest is non-arbitrage."""

    date: dt.date
    market: str
    total: dict[str, int]
    arbitrage: dict[str, int]

    @property
    def non_arbitrage(self) -> dict[str, int]:
        return {name: value - self.arbitrage[name] for name, value in self.total.items()}


@dataclass(frozen=True)
class _Day:
    """One day of the universe, (n,) int64 arrays."""

    program_buy: np.ndarray
    program_sell: np.ndarray
    short: np.ndarray
    buyer: np.ndarray
    balances: dict[str, np.ndarray]
    churn: dict[str, np.ndarray]
    member_weights: np.ndarray  # (n, 2, members): each side's share per member


class ActivityModel:
    def __init__(self, seed: int, book: PriceBook) -> None:
        self.seed = seed
        self.book = book
        n = len(book.specs)
        kosdaq = np.array([spec.market != "KOSPI" for spec in book.specs])
        self._side = kosdaq.astype(np.int64)
        u = chunked(seed, STREAM_ACTIVITY_PARAMS, 0, n, "uniform", 1, 8)[0]
        self.levels = {
            name: np.where(kosdaq, high_low[1], high_low[0]) * np.exp(u[:, i] - 0.5)
            for i, (name, high_low) in enumerate(_LEVELS.items())
        }
        self.periods = 120.0 + 300.0 * u[:, 3]
        self.phases = 2.0 * np.pi * u[:, 4]
        # A day of the universe, drawn once; a balance reads the day before it too.
        self.day = functools.lru_cache(maxsize=512)(self._draw)

    def _draw(self, row: int) -> _Day:
        book = self.book
        n = len(book.specs)
        day = book.days[row]
        z = chunked(self.seed, STREAM_ACTIVITY, day.toordinal(), n, "normal", 1, 8)[0]
        base = book.base_rows(row, row + 1)[0].astype(np.float64)
        ret = book.close[row] / base - 1.0
        volume = book.volume[row].astype(np.int64)
        program_share = np.array(_PROGRAM_SHARE)[self._side] * np.exp(0.4 * z[:, 0])
        program = np.floor(volume * np.clip(program_share, 0.0, 0.45)).astype(np.int64)
        lean = np.clip(0.5 + 2.0 * ret + 0.08 * z[:, 1], 0.05, 0.95)
        program_buy = np.floor(program * lean).astype(np.int64)
        program_sell = np.floor(program * np.clip(1.0 - lean + 0.05 * z[:, 2], 0.05, 0.95))
        short_share = np.clip(np.array(_SHORT_SHARE)[self._side] * np.exp(0.5 * z[:, 3]), 0, 0.3)
        buyer_share = np.clip(0.5 + 1.5 * ret + 0.05 * z[:, 4], 0.1, 0.9)
        shares = book.shares_rows(row, row + 1)[0]
        cycle = 1.0 + 0.4 * np.sin(2.0 * np.pi * day.toordinal() / self.periods + self.phases)
        balances = {
            name: np.rint(shares * level * cycle * np.exp(0.05 * z[:, 5 + i % 3])).astype(np.int64)
            for i, (name, level) in enumerate(self.levels.items())
        }
        churn = {
            name: np.rint(balance * 0.03 * np.exp(0.3 * z[:, 7])).astype(np.int64)
            for name, balance in balances.items()
        }
        w = np.exp(chunked(self.seed, STREAM_MEMBERS, day.toordinal(), n, "normal", 1, 24)[0])
        w = w.reshape(n, 2, len(MEMBERS))
        member_weights = _MEMBER_COVER * w / w.sum(axis=2, keepdims=True)
        return _Day(
            program_buy,
            program_sell.astype(np.int64),
            np.floor(volume * short_share).astype(np.int64),
            np.rint(volume * buyer_share).astype(np.int64),
            balances,
            churn,
            member_weights,
        )

    def activity(self, row: int, column: int) -> Activity:
        book = self.book
        today = self.day(row)
        # The first day of the history has no session before it: its balance came about
        # before, so it neither grew nor shrank that day.
        before = self.day(row - 1) if row > 0 else today
        volume = int(book.volume[row, column])
        value = int(book.value_rows(row, row + 1)[0, column])

        def worth(shares: int) -> int:
            # At the day's average price, rounded down: a slice never outgrows the whole.
            return value * shares // volume if volume else 0

        def balance(name: str) -> Balance:
            now = int(today.balances[name][column])
            change = now - int(before.balances[name][column])
            churn = int(today.churn[name][column])
            return Balance(max(change, 0) + churn, max(-change, 0) + churn, now)

        buy = int(today.program_buy[column])
        sell = int(today.program_sell[column])
        short = int(today.short[column])
        buyer = int(today.buyer[column])
        return Activity(
            date=book.days[row],
            symbol=book.specs[column].symbol,
            program_buy_volume=buy,
            program_sell_volume=sell,
            program_buy_value=worth(buy),
            program_sell_value=worth(sell),
            short_volume=short,
            short_value=worth(short),
            buyer_volume=buyer,
            seller_volume=volume - buyer,
            loan=balance("loan"),
            stock_loan=balance("stock_loan"),
            lending=balance("lending"),
            members={
                member: (
                    int(buyer * today.member_weights[column, 0, m]),
                    int((volume - buyer) * today.member_weights[column, 1, m]),
                )
                for m, member in enumerate(MEMBERS)
            },
        )

    def market_program(self, row: int, market: str) -> MarketProgram | None:
        """The program trading of `market`'s stocks on day `row`, summed; None for a market
        without stocks."""
        book = self.book
        columns = [i for i, spec in enumerate(book.specs) if spec.market == market]
        if not columns or market not in MARKETS:
            return None
        today = self.day(row)
        # Python integers: a value times shares outgrows int64.
        volume = book.volume[row, columns].astype(object)
        value = book.value_rows(row, row + 1)[0, columns].astype(object)
        safe = np.where(volume > 0, volume, 1)
        total: dict[str, int] = {}
        for side, shares in (("buy", today.program_buy), ("sell", today.program_sell)):
            picked = shares[columns].astype(object)
            total[f"{side}_volume"] = int(picked.sum())
            # Each stock's value as `activity` gives it, at its day's average price.
            total[f"{side}_value"] = int(np.where(volume > 0, value * picked // safe, 0).sum())
        day = book.days[row]
        low, high = _ARBITRAGE_SHARE
        u = chunked(self.seed, STREAM_MARKET_PROGRAM, day.toordinal(), len(MARKETS), "u", 1, 4)
        # One share per figure: each side's volume and value apart.
        shares = low + (high - low) * u[0, MARKETS.index(market)]
        arbitrage = {
            name: int(figure * share)
            for (name, figure), share in zip(total.items(), shares, strict=True)
        }
        return MarketProgram(day, market, total, arbitrage)


def settlement_date(day: dt.date) -> dt.date:
    """The day a trade of `day` settles: the second settlement day after it (T+2)."""
    settled = day
    for _ in range(2):
        settled += dt.timedelta(days=1)
        while not cal.is_settlement_day(settled):
            settled += dt.timedelta(days=1)
    return settled
