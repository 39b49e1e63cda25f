"""HDFSCNT0 tapes: an overseas ticker's session as KIS's delayed trade feed (SPEC §15.7.9).

A feed's key is `D` (the free delayed feed) or `R` (the paid one), the exchange code and the
ticker (`DNASAAPL`); the simulator serves the tickers of `market_overseas.OVERSEAS`. The tape
plays the exchange's own day on its local clock (`session_clock.exchange_hours`: its regular
sessions, a lunch break silent) and ends on the ticker's daily bar of that local date (the
same open, high, low and close as §13.3's history, the volume within a share a tick): prices
walk a Brownian bridge on the exchange's tick (a cent, a yen, a dong) through those points,
volumes follow a U-shaped curve to the bar's volume. Each record carries the local business
date and time and the Korean date and time, 26 fields with the echoed key first, as the
portal documents.
"""

from __future__ import annotations

import datetime as dt
import zlib

import numpy as np

from kis_pipeline.common.clock import KST
from kis_pipeline.common.overseas_exchanges import EXCHANGES
from kis_pipeline.simulator.market_overseas import OVERSEAS
from kis_pipeline.simulator.market_types import OverseasBar
from kis_pipeline.simulator.session_clock import Hours, exchange_hours, hhmmss
from kis_pipeline.simulator.session_plan import level_path, volume_profile

OVERSEAS_TR = "HDFSCNT0"
_LISTED = frozenset((excd, ticker) for excd, ticker, _ in OVERSEAS)


def parse_key(tr_key: str) -> tuple[str, str] | None:
    """(exchange, ticker) of a listed ticker's feed key, or None."""
    if len(tr_key) < 5 or tr_key[0] not in "DR":
        return None
    pair = (tr_key[1:4], tr_key[4:])
    return pair if pair in _LISTED else None


class OverseasTape:
    """One ticker's local trading day (see the module docstring)."""

    def __init__(self, tr_key: str, bar: OverseasBar, *, seed: int) -> None:
        excd, ticker = parse_key(tr_key) or ("", "")
        exchange = EXCHANGES[excd]
        self.key, self.ticker, self.bar = tr_key, ticker, bar
        self.session_date = bar.date
        self.hours: Hours = exchange_hours(excd)
        self._zone = exchange.zone
        self._decimals = exchange.decimals
        self._zdiv = exchange.zdiv
        tick = 10.0**-exchange.decimals
        self._length = self.hours.length
        self._profile = volume_profile(self._length)
        low = round(bar.low / tick)

        def level(price: float) -> int:
            return round(price / tick) - low

        rng = np.random.default_rng(
            [seed & 0xFFFF_FFFF, zlib.crc32(f"{tr_key}:{bar.date}".encode())]
        )
        top = level(bar.high)
        path = level_path(rng, level(bar.open), top, 0, level(bar.close), self._length)
        self._prices = (path + low) * tick
        self._mult = rng.lognormal(-0.5, 1.0, 4096)
        self.cum_volume = 0
        self.cum_value = 0.0
        self.bid_volume = 0  # executed at the bid: sellers hit it
        self.ask_volume = 0
        self.high = self.low = bar.open
        self._k = 0

    def _price(self, value: float) -> str:
        return f"{value:.{self._decimals}f}"

    def records(self, n: int, seconds: float) -> list[str]:
        """The next `n` HDFSCNT0 records at `seconds` after local midnight."""
        bar = self.bar
        second = min(max(int(seconds) - self.hours.open_s, 0), self._length - 1)
        price = float(self._prices[second])
        if second == 0:
            price = bar.open
        elif second >= self._length - 10:
            price = bar.close
        want = bar.volume * float(self._profile[second + 1]) - self.cum_volume
        mean = want / n if want > n else 1.0
        local = dt.datetime.combine(bar.date, dt.time()) + dt.timedelta(
            seconds=self.hours.open_s + second
        )
        local = local.replace(tzinfo=self._zone)
        korea = local.astimezone(KST)
        day, clock = bar.date.strftime("%Y%m%d"), hhmmss(self.hours.open_s + second)
        k_day, k_clock = korea.strftime("%Y%m%d"), korea.strftime("%H%M%S")
        base = bar.prev_close or bar.open
        diff = price - base
        sign = "2" if diff > 0 else "5" if diff < 0 else "3"
        tick = 10.0**-self._decimals
        out = []
        for _ in range(n):
            self._k += 1
            volume = max(int(mean * self._mult[self._k % len(self._mult)]), 1)
            self.cum_volume += volume
            self.cum_value += volume * price
            if self._k % 2:
                self.ask_volume += volume
            else:
                self.bid_volume += volume
            self.high, self.low = max(self.high, price), min(self.low, price)
            strength = self.ask_volume * 100 / self.bid_volume if self.bid_volume else 0.0
            out.append(
                "^".join(
                    (
                        self.key,
                        self.ticker,
                        str(self._zdiv),
                        day,
                        day,
                        clock,
                        k_day,
                        k_clock,
                        self._price(bar.open),
                        self._price(self.high),
                        self._price(self.low),
                        self._price(price),
                        sign,
                        self._price(abs(diff)),
                        f"{diff * 100 / base:.2f}",
                        self._price(max(price - tick, tick)),
                        self._price(price + tick),
                        str(int(self._mult[(self._k + 7) % len(self._mult)] * 100) + 1),
                        str(int(self._mult[(self._k + 13) % len(self._mult)] * 100) + 1),
                        str(volume),
                        str(self.cum_volume),
                        f"{self.cum_value:.0f}",
                        str(self.bid_volume),
                        str(self.ask_volume),
                        f"{strength:.2f}",
                        "1",
                    )
                )
            )
        return out
