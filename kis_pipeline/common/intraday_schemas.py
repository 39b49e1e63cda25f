"""Schemas of the intraday bar tables (SPEC §7.5, §7.6): one row per bar, `ts` the minute the
bar starts (KST), `date` its session. Prices are KRW, volumes shares; `value` is the bar's own
traded value in KRW and `cum_value` the day's value up to and including the bar, as KIS sends
it (the bar's value is the difference between two bars' `cum_value`).
"""

from __future__ import annotations

import polars as pl

from kis_pipeline.common.activity_schemas import columns
from kis_pipeline.common.clock import KST_NAME

TS_KST = pl.Datetime("us", KST_NAME)

# What a minute-chart record reads as, before its time becomes a timestamp.
MINUTE_RECORDS = columns("date:D time:S symbol:S open high low close volume cum_value venue:S")

MINUTE_BARS = pl.Schema(
    {
        "date": pl.Date,
        "ts": TS_KST,
        "symbol": pl.String,
        "open": pl.Int64,
        "high": pl.Int64,
        "low": pl.Int64,
        "close": pl.Int64,
        "volume": pl.Int64,
        "value": pl.Int64,
        "cum_value": pl.Int64,
        "venue": pl.String,
    }
)

INTRADAY: dict[str, pl.Schema] = {"minute_bars": MINUTE_BARS}
