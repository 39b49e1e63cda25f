"""The recorded scenarios: each runs endpoint calls through a real `KisClient`.

The same functions run while recording (against the simulator) and while replaying (against
the cassette), so a replay exercises exactly the requests that were recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl

from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints import calendar, prices, quotes, rankings

SESSION = dt.date(2026, 11, 20)
SYMBOLS = ["005930", "000660", "035420", "999999"]


def daily_chart(client: KisClient) -> pl.DataFrame:
    # 150 trading days: two pages of the 100-row window walk.
    return prices.fetch_daily_chart(client, "005930", dt.date(2026, 4, 1), SESSION, adjusted=False)


def multi_quote(client: KisClient) -> pl.DataFrame:
    return quotes.fetch_multi_quote(client, SYMBOLS)


def volume_ranking(client: KisClient) -> pl.DataFrame:
    return rankings.fetch_volume_ranking(client, SESSION)


def holiday_calendar(client: KisClient) -> pl.DataFrame:
    return calendar.fetch_trading_calendar(client, SESSION)


SCENARIOS: dict[str, Callable[[KisClient], pl.DataFrame]] = {
    "daily_chart": daily_chart,
    "multi_quote": multi_quote,
    "volume_ranking": volume_ranking,
    "holiday_calendar": holiday_calendar,
}
