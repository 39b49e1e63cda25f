"""Daily tables, one partition per trading day: bars, rankings and investor flows, stored as the
typed endpoints return them (`common.schemas`)."""

from __future__ import annotations

import polars as pl

from kis_pipeline.common import schemas
from kis_pipeline.warehouse.tables.spec import TableSpec, register_table

# The gates of a table that must hold every listed symbol's (or index's, market's) row.
COMPLETE = ("unique_keys", "complete", "no_rejects")
BARS = ("unique_keys", "ohlc_consistent", "complete", "no_rejects")


def _per_day(
    name: str, schema: pl.Schema, of: str, description: str, gates: tuple[str, ...] = ()
) -> TableSpec:
    """A table of one row per (date, `of`), partitioned by day and sorted by `of`, then date."""
    return register_table(
        TableSpec(
            name, schema, "date", "date", ("date", of), (of, "date"), description, gates=gates
        )
    )


_per_day(
    "daily_prices",
    schemas.DAILY_PRICES,
    "symbol",
    "One row per (date, symbol): raw (unadjusted) daily OHLCV and traded value in KRW.",
    BARS,
)
_per_day(
    "daily_prices_adjusted",
    schemas.DAILY_PRICES_ADJUSTED,
    "symbol",
    "One row per (date, symbol): split-adjusted OHLCV as KIS computes it, with adj_factor.",
    BARS,
)
_per_day(
    "index_daily",
    schemas.INDEX_DAILY,
    "index_code",
    "One row per (date, index_code): daily bars of KOSPI, KOSDAQ and KOSPI200.",
    COMPLETE,
)
_per_day(
    "investor_flows",
    schemas.INVESTOR_FLOWS,
    "symbol",
    "One row per (date, symbol): net buying by investor type (shares, KRW).",
    ("unique_keys", "no_rejects"),
)
_per_day(
    "market_investor_flows",
    schemas.MARKET_INVESTOR_FLOWS,
    "market",
    "One row per (date, market): market-wide net buying by investor type.",
    COMPLETE,
)
register_table(
    TableSpec(
        "overseas_daily_prices",
        schemas.OVERSEAS_DAILY_PRICES,
        "date",
        "date",
        ("date", "exchange", "symbol"),
        ("exchange", "symbol", "date"),
        "One row per (exchange date, exchange, symbol): overseas daily bars in local currency.",
        gates=("unique_keys",),
    )
)
register_table(
    TableSpec(
        "rankings",
        schemas.RANKINGS,
        "date",
        "date",
        ("date", "ranking", "rank"),
        ("ranking", "rank", "date"),
        "One row per (date, ranking, rank): top 30 by volume, rise, fall, market cap.",
    )
)

_per_day(
    "market_daily",
    schemas.ALL["market_daily"],
    "symbol",
    "One row per (date, symbol): listed shares, market cap, PER, PBR, EPS and BPS at the "
    "session's close, built from the warehouse with no call.",
    ("unique_keys", "complete"),
)
