"""Schema of `news_titles` (SPEC §17.2): one row per headline, `ts` when it was written (KST),
`date` its day; up to five stock codes it names (`symbol_1`..`symbol_5`, in KIS's order)."""

from __future__ import annotations

import polars as pl

from kis_pipeline.common.activity_schemas import columns
from kis_pipeline.common.intraday_schemas import TS_KST

_SYMBOLS = " ".join(f"symbol_{i}:S" for i in range(1, 6))
# What a news-title record reads as, before its time becomes a timestamp.
NEWS_RECORDS = columns(f"news_id:S date:D time:S provider:S title:S category:S source:S {_SYMBOLS}")
NEWS_TITLES = pl.Schema(
    {
        "date": pl.Date,
        "ts": TS_KST,
        "news_id": pl.String,
        "provider": pl.String,
        "title": pl.String,
        "category": pl.String,
        "source": pl.String,
        **{f"symbol_{i}": pl.String for i in range(1, 6)},
    }
)
