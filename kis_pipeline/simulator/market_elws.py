"""The simulator's ELWs (equity-linked warrants): calls and puts on simulated stocks, priced with
Black-Scholes on the underlying's bar of each session.

- A warrant's volatility is smooth: its base level times one plus a slow seeded sine (a period
  of `VOL_PERIOD_DAYS` calendar days, ±`VOL_SWING` of the base), so that a night's implied
  volatility moves a little and never jumps.
- The close is the Black-Scholes value at the underlying's close, the open, high and low at its
  open, high and low (a call is worth most at the stock's high, a put at its low), each times
  the conversion ratio (shares one warrant converts into), rounded to KRX's ELW tick of 5 KRW
  and never below one tick. Time to expiry is in calendar days over 365, the rate `RATE`.
- The implied volatility KIS would report is the volatility the price was computed with; the
  historical volatilities are the underlying's close-to-close log returns over the last 10, 20,
  30, 60 and 90 sessions, annualised over `SESSIONS_A_YEAR`, in percent.
- A warrant trades from its listing until the session before its expiry; the volume is a seeded
  draw around its typical day.
- The sensitivities KIS would report (`greeks`) are Black-Scholes's at the underlying's close
  with the day's volatility: the theoretical price, theta, vega and rho in KRW per warrant
  (theta a calendar day, vega and rho one percentage point), delta and gamma per share of the
  underlying (a call's delta 0 to 1, a put's -1 to 0; gamma a KRW of the underlying).

Every value depends only on the seed and the stock's bars, so every call and process agree.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

ELW_TICK = 5
RATE = 0.03
VOL_SWING = 0.15
VOL_PERIOD_DAYS = 120.0
SESSIONS_A_YEAR = 250.0
HISTORY_WINDOWS = (10, 20, 30, 60, 90)
# Calendar days of the underlying's bars read before a range: enough for 90 sessions.
_LOOKBACK_DAYS = 150
_VOLUME_SPREAD = 0.5
_DAYS_A_YEAR = 365.0


class StockBar(Protocol):
    """The part of a simulated stock's daily bar the warrants are priced on."""

    date: dt.date
    open: int
    high: int
    low: int
    close: int


@dataclass(frozen=True)
class Elw:
    """A listed warrant: its code and name, the stock it is written on, call or put, strike
    (KRW), conversion ratio (shares per warrant), listing and expiry, base volatility (a
    fraction a year) and typical volume (warrants a session)."""

    code: str
    name: str
    underlying: str
    kind: Literal["call", "put"]
    strike: int
    ratio: float
    list_date: dt.date
    expiry: dt.date
    vol: float
    volume: int


# code, name, underlying, kind, strike (KRW), conversion ratio, listing, expiry, base
# volatility, typical volume: a call and a put on each of two large simulated stocks.
_LISTED = """
57K001  한국K001삼성전자콜     005930  call  28000  0.10  2026-05-04  2027-06-10  0.32  2000000
57K002  한국K002삼성전자풋     005930  put   25000  0.10  2026-05-04  2027-06-10  0.35  1200000
57K003  한국K003SK하이닉스콜   000660  call  75000  0.05  2026-06-01  2027-09-09  0.40   900000
57K004  한국K004SK하이닉스풋   000660  put   65000  0.05  2026-06-01  2027-09-09  0.42   600000
"""


def _parse(line: str) -> Elw:
    code, name, underlying, kind, strike, ratio, listed, expiry, vol, volume = line.split()
    assert kind in ("call", "put"), kind
    return Elw(
        code,
        name,
        underlying,
        kind,
        int(strike),
        float(ratio),
        dt.date.fromisoformat(listed),
        dt.date.fromisoformat(expiry),
        float(vol),
        int(volume),
    )


ELWS: tuple[Elw, ...] = tuple(_parse(line) for line in _LISTED.strip().splitlines())
BY_CODE: Mapping[str, Elw] = {elw.code: elw for elw in ELWS}


@dataclass(frozen=True)
class ElwBar:
    """One session of a warrant: open, high, low, close and the previous session's close (KRW
    per warrant), volume (warrants), the underlying's close, the volatility it was priced with
    and the underlying's historical volatilities (fractions a year, `HISTORY_WINDOWS`)."""

    date: dt.date
    open: int
    high: int
    low: int
    close: int
    prev_close: int
    volume: int
    underlying_close: int
    vol: float
    historical: tuple[float, ...]


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def black_scholes(kind: str, spot: float, strike: float, years: float, vol: float) -> float:
    """The value of one European option on one share, at the flat rate `RATE`, no dividend."""
    if years <= 0:
        return max(spot - strike, 0.0) if kind == "call" else max(strike - spot, 0.0)
    spread = vol * math.sqrt(years)
    d1 = (math.log(spot / strike) + (RATE + vol * vol / 2) * years) / spread
    d2 = d1 - spread
    discount = strike * math.exp(-RATE * years)
    if kind == "call":
        return spot * normal_cdf(d1) - discount * normal_cdf(d2)
    return discount * normal_cdf(-d2) - spot * normal_cdf(-d1)


@dataclass(frozen=True)
class Greeks:
    """A warrant's theoretical value and sensitivities on a day (see the module docstring)."""

    theoretical: float
    delta: float
    gamma: float
    theta: float
    vega: float
    rho: float


def _density(x: float) -> float:
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def greeks(seed: int, elw: Elw, day: dt.date, spot: float) -> Greeks:
    """Black-Scholes's value and sensitivities of the warrant on `day` at `spot`."""
    years = max((elw.expiry - day).days, 1) / _DAYS_A_YEAR
    vol = volatility(seed, elw, day)
    spread = vol * math.sqrt(years)
    d1 = (math.log(spot / elw.strike) + (RATE + vol * vol / 2) * years) / spread
    d2 = d1 - spread
    discount = elw.strike * math.exp(-RATE * years)
    call = elw.kind == "call"
    delta = normal_cdf(d1) if call else normal_cdf(d1) - 1
    # Per year, then per calendar day; vega and rho per percentage point.
    decay = -spot * _density(d1) * vol / (2 * math.sqrt(years))
    carry = RATE * discount * (normal_cdf(d2) if call else -normal_cdf(-d2))
    rho = discount * years * (normal_cdf(d2) if call else -normal_cdf(-d2))
    return Greeks(
        theoretical=black_scholes(elw.kind, spot, elw.strike, years, vol) * elw.ratio,
        delta=delta,
        gamma=_density(d1) / (spot * spread),
        theta=(decay - carry) / _DAYS_A_YEAR * elw.ratio,
        vega=spot * _density(d1) * math.sqrt(years) / 100 * elw.ratio,
        rho=rho / 100 * elw.ratio,
    )


def on_tick(value: float) -> int:
    """A warrant's price on KRX's ELW tick, never below one tick."""
    return max(ELW_TICK, round(value / ELW_TICK) * ELW_TICK)


def _phase(seed: int, elw: Elw) -> float:
    digest = hashlib.sha256(f"{seed}:elw-vol:{elw.code}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 2 * math.pi


def volatility(seed: int, elw: Elw, day: dt.date) -> float:
    """The warrant's volatility on `day`: its base level on a slow seeded sine."""
    angle = 2 * math.pi * day.toordinal() / VOL_PERIOD_DAYS + _phase(seed, elw)
    return elw.vol * (1.0 + VOL_SWING * math.sin(angle))


def price(seed: int, elw: Elw, day: dt.date, spot: float) -> int:
    """The warrant's price on `day` with the underlying at `spot`, on the tick."""
    years = (elw.expiry - day).days / _DAYS_A_YEAR
    value = black_scholes(elw.kind, spot, elw.strike, years, volatility(seed, elw, day))
    return on_tick(value * elw.ratio)


def historical(closes: np.ndarray, windows: Sequence[int] = HISTORY_WINDOWS) -> tuple[float, ...]:
    """The annualised volatility of the last n log returns of `closes` (oldest first), for each
    n of `windows` (0 where fewer returns are known)."""
    returns = np.diff(np.log(closes))
    return tuple(
        float(np.std(returns[-n:], ddof=1) * math.sqrt(SESSIONS_A_YEAR)) if len(returns) >= n else 0
        for n in windows
    )


def _volume(seed: int, elw: Elw, day: dt.date) -> int:
    digest = hashlib.sha256(f"{seed}:elw-volume:{elw.code}:{day.toordinal()}".encode()).digest()
    draw = np.random.default_rng(int.from_bytes(digest[:8], "big")).normal(0.0, _VOLUME_SPREAD)
    return int(elw.volume * math.exp(draw))


def last_trading_day(elw: Elw) -> dt.date:
    """The warrant trades until the day before its expiry (the last session before it)."""
    return elw.expiry - dt.timedelta(days=1)


def elw_bars(seed: int, elw: Elw, stock: Sequence[StockBar], start: dt.date) -> list[ElwBar]:
    """The warrant's sessions of `stock` (its underlying's bars, oldest first, reaching
    `_LOOKBACK_DAYS` before `start`) from `start`, within its listing and last trading day."""
    closes = np.array([bar.close for bar in stock], dtype=float)
    high_side, low_side = ("high", "low") if elw.kind == "call" else ("low", "high")
    out = []
    for i, bar in enumerate(stock):
        if bar.date < max(start, elw.list_date) or bar.date > last_trading_day(elw) or i == 0:
            continue
        previous = stock[i - 1]
        out.append(
            ElwBar(
                bar.date,
                price(seed, elw, bar.date, bar.open),
                price(seed, elw, bar.date, getattr(bar, high_side)),
                price(seed, elw, bar.date, getattr(bar, low_side)),
                price(seed, elw, bar.date, bar.close),
                price(seed, elw, previous.date, previous.close),
                _volume(seed, elw, bar.date),
                bar.close,
                volatility(seed, elw, bar.date),
                historical(closes[: i + 1]),
            )
        )
    return out


def lookback(start: dt.date) -> dt.date:
    """The first day of the underlying's bars a range from `start` needs."""
    return start - dt.timedelta(days=_LOOKBACK_DAYS)
