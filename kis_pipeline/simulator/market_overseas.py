"""Overseas stocks: a few real tickers per exchange with synthetic daily bars.

Bars exist on every open day of the exchange's own calendar (exchange-local dates): weekdays
but the country's holidays (`overseas_holidays`), the days the settlement calendar (§13.8)
answers as open. A day is complete once the exchange's local close has passed
(`common.overseas_exchanges`: zone, close, tick decimals). Prices are floats in local currency:
2 decimals in USD, HKD and CNY (index points too), whole yen and whole dong. Each ticker's
path depends only on the seed, the ticker and the start.
"""

from __future__ import annotations

import datetime as dt
import zlib

import numpy as np

from kis_pipeline.common.overseas_exchanges import EXCHANGES
from kis_pipeline.simulator.market_prices import seed_words, weekday_ordinal
from kis_pipeline.simulator.market_types import OverseasBar
from kis_pipeline.simulator.overseas_holidays import is_open

STREAM_OVERSEAS = 7

OVERSEAS: list[tuple[str, str, str]] = [
    ("NAS", "AAPL", "Apple"),
    ("NAS", "MSFT", "Microsoft"),
    ("NAS", "NVDA", "NVIDIA"),
    ("NAS", "AMZN", "Amazon.com"),
    ("NAS", "TSLA", "Tesla"),
    ("NYS", "JPM", "JPMorgan Chase"),
    ("NYS", "KO", "Coca-Cola"),
    ("NYS", "XOM", "Exxon Mobil"),
    ("NYS", "IBM", "IBM"),
    ("AMS", "SPY", "SPDR S&P 500 ETF Trust"),
    ("AMS", "GLD", "SPDR Gold Shares"),
    ("AMS", "IWM", "iShares Russell 2000 ETF"),
    ("HKS", "00700", "Tencent Holdings"),
    ("HKS", "09988", "Alibaba Group"),
    ("HKS", "00005", "HSBC Holdings"),
    ("TSE", "7203", "Toyota Motor"),
    ("TSE", "6758", "Sony Group"),
    ("TSE", "9984", "SoftBank Group"),
    ("SHS", "600519", "Kweichow Moutai"),
    ("SHS", "601398", "Industrial and Commercial Bank of China"),
    ("SHI", "000001", "SSE Composite Index"),
    ("SZS", "000858", "Wuliangye Yibin"),
    ("SZS", "000333", "Midea Group"),
    ("SZI", "399001", "SZSE Component Index"),
    ("HSX", "VNM", "Vinamilk"),
    ("HSX", "VCB", "Vietcombank"),
    ("HNX", "PVS", "PetroVietnam Technical Services"),
    ("HNX", "VCS", "Vicostone"),
]

# Approximate price levels in early 2015 (ticker currency).
_START_PRICE = {
    "AAPL": 27.3,
    "MSFT": 46.8,
    "NVDA": 5.0,
    "AMZN": 15.4,
    "TSLA": 14.6,
    "JPM": 62.5,
    "KO": 42.1,
    "XOM": 92.8,
    "IBM": 162.1,
    "SPY": 205.4,
    "GLD": 114.1,
    "IWM": 119.6,
    "00700": 114.0,
    "09988": 180.0,
    "00005": 74.0,
    "7203": 7600.0,
    "6758": 2500.0,
    "9984": 7100.0,
    "600519": 190.0,
    "601398": 4.7,
    "000001": 3230.0,
    "000858": 22.5,
    "000333": 30.0,
    "399001": 11100.0,
    "VNM": 100000.0,
    "VCB": 40000.0,
    "PVS": 20000.0,
    "VCS": 30000.0,
}


def weekdays(start: dt.date, end: dt.date) -> list[dt.date]:
    out = []
    day = start
    while day <= end:
        if day.weekday() < 5:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def open_days(excd: str, start: dt.date, end: dt.date) -> list[dt.date]:
    """The exchange's sessions in [start, end]: its country's open weekdays."""
    country = EXCHANGES[excd].country
    return [d for d in weekdays(start, end) if is_open(country, d)]


def last_completed_day(excd: str, now: dt.datetime) -> dt.date:
    """The exchange-local date of the last session that has closed by `now`."""
    exchange = EXCHANGES[excd]
    local = now.astimezone(exchange.zone)
    day = local.date()
    if not (is_open(exchange.country, day) and local.time() >= exchange.close):
        day -= dt.timedelta(days=1)
        while not is_open(exchange.country, day):
            day -= dt.timedelta(days=1)
    return day


class OverseasModel:
    """Per-ticker bars from the start to a horizon, built on first use and cached."""

    def __init__(self, seed: int, start: dt.date) -> None:
        self.seed = seed
        self.start = start
        self._series: dict[tuple[str, str], tuple[list[dt.date], np.ndarray]] = {}

    def series(self, excd: str, symbol: str, horizon: dt.date) -> tuple[list[dt.date], np.ndarray]:
        """(days, rows of open, high, low, close, volume, value, prev_close) up to horizon."""
        key = (excd, symbol)
        cached = self._series.get(key)
        if cached is not None and cached[0] and cached[0][-1] >= horizon:
            return cached
        days = open_days(excd, self.start, dt.date(horizon.year, 12, 31))
        decimals = EXCHANGES[excd].decimals
        tag = zlib.crc32(f"{excd}:{symbol}".encode())
        rows = np.zeros((len(days), 7))
        price = _START_PRICE.get(symbol, 50.0)
        drift = 0.10 / 252
        row = 0
        for year in range(days[0].year if days else 0, (days[-1].year + 1) if days else 0):
            rng = np.random.default_rng([*seed_words(self.seed), STREAM_OVERSEAS, tag, year])
            draws = rng.standard_normal((262, 5))
            jan1 = dt.date(year, 1, 1)
            while row < len(days) and days[row].year == year:
                z = draws[weekday_ordinal(jan1, days[row])]
                prev = price
                close = prev * np.exp(drift + 0.018 * z[0])
                opening = prev * np.exp(0.006 * z[1])
                high = max(opening, close) * np.exp(abs(z[2]) * 0.007)
                low = min(opening, close) * np.exp(-abs(z[3]) * 0.007)
                volume = max(int(2e6 * np.exp(0.4 * z[4]) * (1 + 20 * abs(close / prev - 1))), 1)
                o, h, lo, c = (round(float(x), decimals) for x in (opening, high, low, close))
                h = max(h, o, c)
                lo = min(lo, o, c)
                typical = (h + lo + 2 * c) / 4
                value = round(volume * typical, decimals)  # whole yen and dong
                rows[row] = (o, h, lo, c, volume, value, round(prev, decimals))
                price = c if c > 0 else prev
                row += 1
        self._series[key] = (days, rows)
        return days, rows

    def bars(
        self, excd: str, symbol: str, start: dt.date, end: dt.date, last_day: dt.date
    ) -> list[OverseasBar]:
        end = min(end, last_day)
        if end < start or (excd, symbol) not in {(e, s) for e, s, _ in OVERSEAS}:
            return []
        days, rows = self.series(excd, symbol, last_day)
        out = []
        for day, row in zip(days, rows, strict=True):
            if start <= day <= end:
                out.append(
                    OverseasBar(
                        day,
                        float(row[0]),
                        float(row[1]),
                        float(row[2]),
                        float(row[3]),
                        int(row[4]),
                        float(row[5]),
                        float(row[6]),
                    )
                )
        return out
