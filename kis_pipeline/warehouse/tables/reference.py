"""Reference tables: the trading calendar, the overseas calendar and the listed universe."""

from __future__ import annotations

import polars as pl

from kis_pipeline.common import schemas
from kis_pipeline.warehouse.tables.spec import TableSpec, register_table

SYMBOLS = pl.Schema(
    {
        "date": pl.Date,
        "symbol": pl.String,
        "name": pl.String,
        "market": pl.String,
        "standard_code": pl.String,
        "security_group": pl.String,
        "listed_shares": pl.Int64,
        "par_value": pl.Int64,
        "list_date": pl.Date,
        "market_cap": pl.Int64,
        "base_price": pl.Int64,
        "sector_large": pl.String,
        "is_halted": pl.Boolean,
    }
)

TRADING_CALENDAR = pl.Schema(
    {
        **schemas.TRADING_CALENDAR,
        # "index" (a day with a KOSPI bar), "chk-holiday" (KIS's calendar ahead).
        "source": pl.String,
    }
)

for _spec in (
    TableSpec(
        "trading_calendar",
        TRADING_CALENDAR,
        "year",
        "date",
        ("date",),
        ("date",),
        "One row per calendar day: whether KRX was (or will be) open, settling, in business.",
    ),
    TableSpec(
        "overseas_calendar",
        schemas.OVERSEAS_CALENDAR,
        "year",
        "date",
        ("date", "exchange"),
        ("exchange", "date"),
        "One row per (date, overseas exchange): whether it trades that day, and when a trade "
        "made then settles.",
        gates=("unique_keys",),
    ),
    TableSpec(
        "symbols",
        SYMBOLS,
        "date",
        "date",
        ("date", "symbol"),
        ("symbol",),
        "One row per (date, symbol): the listed universe as the master files showed it that day.",
        gates=("unique_keys", "complete", "no_rejects"),
    ),
):
    register_table(_spec)
