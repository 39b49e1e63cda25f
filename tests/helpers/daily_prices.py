"""A `daily_prices` frame for warehouse tests: a few symbols on one day, one close."""

from __future__ import annotations

import datetime as dt

import polars as pl

from kis_pipeline.kis import schemas


def prices(day: dt.date, symbols: list[str], close: int = 100) -> pl.DataFrame:
    n = len(symbols)
    return pl.DataFrame(
        {
            "date": [day] * n,
            "symbol": symbols,
            "open": [close] * n,
            "high": [close + 5] * n,
            "low": [close - 5] * n,
            "close": [close] * n,
            "volume": [1000] * n,
            "value": [close * 1000] * n,
            "change": [0] * n,
            "venue": ["KRX"] * n,
            "ex_rights_code": ["00"] * n,
            "split_ratio": [0.0] * n,
            "revaluation_reason": [""] * n,
            "is_modified": [False] * n,
            "quality_flag": [None] * n,
        },
        schema=schemas.DAILY_PRICES,
    )


SYMBOLS = ["005930", "000660", "035420"]
DAY = dt.date(2024, 1, 2)
