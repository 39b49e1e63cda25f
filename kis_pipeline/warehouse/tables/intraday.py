"""Intraday tables: bars, one row per (symbol, minute) of a session, partitioned by trading day;
and the day's news headlines.

A year of minute bars for a hundred names is about ten million rows, so each day gets a folder
of its own (as the ticks do) and files are sorted by symbol, then time. Their schemas are
`common.intraday_schemas`.
"""

from __future__ import annotations

from kis_pipeline.common.intraday_schemas import (
    INDEX_MINUTE_BARS,
    MINUTE_BARS,
    OVERSEAS_MINUTE_BARS,
)
from kis_pipeline.common.news_schemas import NEWS_TITLES
from kis_pipeline.warehouse.tables.spec import Layout, TableSpec, register_table

MINUTE_BAR_TABLE = register_table(
    TableSpec(
        "minute_bars",
        MINUTE_BARS,
        "date",
        "date",
        ("symbol", "ts"),
        ("symbol", "ts"),
        "One row per (symbol, minute): a stock's one-minute bar (ts = its start, KST), the "
        "bar's own traded value and the day's so far, for the minute-bar watchlist.",
        layout=Layout(("date",)),
        gates=("unique_keys", "no_rejects"),
    )
)

INDEX_MINUTE_BAR_TABLE = register_table(
    TableSpec(
        "index_minute_bars",
        INDEX_MINUTE_BARS,
        "date",
        "date",
        ("index_code", "bar_seconds", "ts"),
        ("index_code", "bar_seconds", "ts"),
        "One row per (index_code, bar_seconds, ts): a main index's intraday bar (ts = its "
        "start, KST) of bar_seconds, in points, with its volume and value.",
        layout=Layout(("date",)),
        gates=("unique_keys", "no_rejects"),
    )
)

NEWS_TITLE_TABLE = register_table(
    TableSpec(
        "news_titles",
        NEWS_TITLES,
        "date",
        "date",
        ("news_id",),
        ("ts", "news_id"),
        "One row per news_id: a news or disclosure headline as KIS listed it, with when it was "
        "written (ts, KST), its provider, category, source and the stocks it names.",
        gates=("unique_keys", "no_rejects"),
    )
)

OVERSEAS_MINUTE_BAR_TABLE = register_table(
    TableSpec(
        "overseas_minute_bars",
        OVERSEAS_MINUTE_BARS,
        "date",
        "date",
        ("exchange", "symbol", "ts"),
        ("exchange", "symbol", "ts"),
        "One row per (exchange, symbol, ts): an overseas stock's one-minute bar of its "
        "exchange's regular session (date: the exchange's local date), in its currency.",
        layout=Layout(("date",)),
        gates=("unique_keys", "no_rejects"),
    )
)
