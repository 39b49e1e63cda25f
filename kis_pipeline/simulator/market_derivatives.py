"""KOSPI200 futures and options priced off the simulator's KOSPI200 index bars (`2001`).

- A futures contract trades at the index times `1 + CARRY * years to expiry`: a small carry
  basis that decays to zero on the expiry day; its open, high and low are the index's, carried
  the same way, so the bar is as consistent as the index's.
- An option is priced with Black-Scholes on that forward (Black-76, discounting ignored like
  the carry's rate), at an implied volatility that is a smooth smile around the money
  (`implied_vol`); its open, high and low are the prices at the index's open, high and low
  (a put's high at the index's low).
- Futures are listed a year before expiry, options `OPTION_LISTED_DAYS` before; a code trades
  on every session from its listing to its expiry day. Volumes and open interest are drawn
  from `rest_market.noise`, larger at the money and in the front contract.

Prices are rounded to KRX's ticks (0.05 for futures and for option premiums of 10 points or
more, 0.01 below, at least one tick); the theoretical price is the value before the tick;
value is volume x price x the 250,000 KRW multiplier.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from kis_pipeline.common.krx_derivatives import CALL, FUTURE, Contract
from kis_pipeline.simulator.rest_market import MarketView, noise

KOSPI200 = "2001"
CARRY = 0.02  # a year's interest less dividends, as a fraction of the index
MULTIPLIER = 250_000  # KRW per index point
FUTURES_LISTED_DAYS = 365
OPTION_LISTED_DAYS = 100
_BASE_VOL = 0.17
OPTION_TICK_BREAK = 10.0  # premium (points) from which options move in 0.05


@dataclass(frozen=True)
class DerivativeBar:
    date: dt.date
    open: float
    high: float
    low: float
    close: float
    volume: int
    value: int
    open_interest: int
    underlying: float
    theoretical: float


def listed(contract: Contract, day: dt.date) -> bool:
    days = FUTURES_LISTED_DAYS if contract.kind == FUTURE else OPTION_LISTED_DAYS
    return contract.expiry - dt.timedelta(days=days) <= day <= contract.expiry


def years_to_expiry(contract: Contract, day: dt.date) -> float:
    return max((contract.expiry - day).days, 0) / 365.0


def forward(level: float, contract: Contract, day: dt.date) -> float:
    return level * (1.0 + CARRY * years_to_expiry(contract, day))


def implied_vol(strike: float, fwd: float, day: dt.date) -> float:
    """A smile around the money whose level drifts slowly with the calendar."""
    moneyness = math.log(strike / fwd)
    level = _BASE_VOL + 0.03 * math.sin(day.toordinal() / 45.0)
    return level + 0.8 * moneyness * moneyness - 0.1 * moneyness


def _norm_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def black(kind: str, fwd: float, strike: float, years: float, vol: float) -> float:
    """Black-76 price of a call or put on a forward, undiscounted; intrinsic at expiry."""
    if years <= 0 or vol <= 0:
        return max(fwd - strike, 0.0) if kind == CALL else max(strike - fwd, 0.0)
    spread = vol * math.sqrt(years)
    d1 = (math.log(fwd / strike) + 0.5 * spread * spread) / spread
    d2 = d1 - spread
    call = fwd * _norm_cdf(d1) - strike * _norm_cdf(d2)
    return call if kind == CALL else call - fwd + strike


def _tick(price: float, tick: float) -> float:
    return round(max(round(price / tick) * tick, tick), 2)


def fair_value(contract: Contract, level: float, day: dt.date) -> float:
    """The model's value of the contract at index `level` on `day`, before ticks (KIS's
    theoretical price, `hts_thpr`)."""
    fwd = forward(level, contract, day)
    if contract.kind == FUTURE:
        return fwd
    assert contract.strike is not None
    vol = implied_vol(contract.strike, fwd, day)
    # A few hours of the expiry day are left at its close: never a zero-time price.
    years = max(years_to_expiry(contract, day), 0.5 / 365)
    return black(contract.kind, fwd, contract.strike, years, vol)


def price(contract: Contract, level: float, day: dt.date) -> float:
    """The fair value on KRX's tick: 0.05 for futures and for premiums of 10 points or more,
    0.01 below."""
    value = fair_value(contract, level, day)
    coarse = contract.kind == FUTURE or value >= OPTION_TICK_BREAK
    return _tick(value, 0.05 if coarse else 0.01)


def derivative_bar(view: MarketView, contract: Contract, day: dt.date) -> DerivativeBar | None:
    """The contract's bar of `day`, or None (not listed, or no session)."""
    if not listed(contract, day):
        return None
    index = view.index_bar(KOSPI200, day)
    if index is None:
        return None
    at = [price(contract, level, day) for level in (index.open, index.high, index.low, index.close)]
    open_, close = at[0], at[3]
    high, low = max(at), min(at)
    volume, open_interest = _activity(contract, index.close, day)
    return DerivativeBar(
        day,
        open_,
        high,
        low,
        close,
        volume,
        round(volume * close * MULTIPLIER),
        open_interest,
        index.close,
        round(fair_value(contract, index.close, day), 2),
    )


def _activity(contract: Contract, level: float, day: dt.date) -> tuple[int, int]:
    """Contracts traded and open: a futures contract's fall off a year out, an option's away
    from the money."""
    draw = noise(contract.code, day, "volume")
    if contract.kind == FUTURE:
        months_out = years_to_expiry(contract, day) * 12
        scale = 250_000 * math.exp(-months_out / 1.5)
    else:
        assert contract.strike is not None
        distance = abs(contract.strike - level) / 2.5
        scale = 400_000 * math.exp(-distance / 3.0)
    volume = int(scale * (0.6 + 0.8 * draw)) + 1
    open_interest = int(volume * (1.2 + noise(contract.code, day, "oi")))
    return volume, open_interest
