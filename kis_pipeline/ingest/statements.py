"""`balance_sheet`, `income_statement` and `financial_ratios` as KIS shows them today: two
calls per symbol (annual, quarterly)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl

from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.fundamentals import (
    PERIOD_CODES,
    fetch_balance_sheet,
    fetch_financial_ratios,
    fetch_income_statement,
)
from kis_pipeline.kis.errors import BusinessError
from kis_pipeline.warehouse import TABLES

Fetch = Callable[..., pl.DataFrame]
FETCHES: dict[str, Fetch] = {
    "balance_sheet": fetch_balance_sheet,
    "income_statement": fetch_income_statement,
    "financial_ratios": fetch_financial_ratios,
}


def fetch_statements(
    client: KisClient, table: str, symbols: list[str], as_of: dt.date
) -> tuple[pl.DataFrame, dict[str, str]]:
    """`table`'s figures of every symbol as of today (stamped `as_of`); a request KIS rejects
    is reported under "<symbol>/<period type>", not raised."""
    fetch = FETCHES[table]
    frames = [pl.DataFrame(schema=TABLES[table].schema)]
    failures: dict[str, str] = {}
    for symbol in symbols:
        for period_type in PERIOD_CODES:
            try:
                frames.append(fetch(client, symbol, period_type=period_type, as_of=as_of))
            except BusinessError as exc:
                failures[f"{symbol}/{period_type}"] = str(exc)
    return pl.concat(frames, how="vertical"), failures
