"""The statements and ratio tables (`kis.endpoints.fundamentals.STATEMENTS`) as KIS shows them
today: two calls per symbol and table (annual, quarterly)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.fundamentals import PERIOD_CODES, fetch_statement
from kis_pipeline.kis.errors import BusinessError
from kis_pipeline.warehouse import TABLES


def fetch_statements(
    client: KisClient, table: str, symbols: list[str], as_of: dt.date
) -> tuple[pl.DataFrame, dict[str, str]]:
    """`table`'s figures of every symbol as of today (stamped `as_of`); a request KIS rejects
    is reported under "<symbol>/<period type>", not raised."""
    frames = [pl.DataFrame(schema=TABLES[table].schema)]
    failures: dict[str, str] = {}
    for symbol in symbols:
        for period_type in PERIOD_CODES:
            try:
                frame = fetch_statement(client, table, symbol, period_type=period_type, as_of=as_of)
                frames.append(frame)
            except BusinessError as exc:
                failures[f"{symbol}/{period_type}"] = str(exc)
    return pl.concat(frames, how="vertical"), failures
