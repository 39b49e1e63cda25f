"""Schemas of the intraday bar tables (SPEC §7.5, §7.6, §12.5): one row per bar, `ts` the time
the bar starts (KST), `date` its session. Stock prices are KRW, index levels points, volumes
shares; `value` is the bar's own traded value in KRW and `cum_value` the day's value up to and
including the bar, as KIS sends it (the bar's value is the difference between two bars'
`cum_value`).
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

INDEX_MINUTE_RECORDS = columns(
    "date:D time:S index_code:S bar_seconds open:F high:F low:F close:F volume cum_value"
)

# `bar_seconds`: the bar's length (600 = ten minutes), as asked of KIS (KIS_INDEX_BAR_SECONDS).
INDEX_MINUTE_BARS = pl.Schema(
    {
        "date": pl.Date,
        "ts": TS_KST,
        "index_code": pl.String,
        "bar_seconds": pl.Int64,
        "open": pl.Float64,
        "high": pl.Float64,
        "low": pl.Float64,
        "close": pl.Float64,
        "volume": pl.Int64,
        "value": pl.Int64,
        "cum_value": pl.Int64,
    }
)

# §13.5: `date` the exchange's local business date, `ts` the bar's start (an instant, shown in
# KST), prices and `value_local` in the exchange's currency.
OVERSEAS_MINUTE_RECORDS = columns(
    "date:D local_date:D local_time:S korea_date:D korea_time:S exchange:S symbol:S "
    "open:F high:F low:F close:F volume value_local:F"
)
OVERSEAS_MINUTE_BARS = pl.Schema(
    {
        "date": pl.Date,
        "ts": TS_KST,
        "exchange": pl.String,
        "symbol": pl.String,
        "open": pl.Float64,
        "high": pl.Float64,
        "low": pl.Float64,
        "close": pl.Float64,
        "volume": pl.Int64,
        "value_local": pl.Float64,
    }
)

INTRADAY: dict[str, pl.Schema] = {
    "minute_bars": MINUTE_BARS,
    "index_minute_bars": INDEX_MINUTE_BARS,
    "overseas_minute_bars": OVERSEAS_MINUTE_BARS,
}
