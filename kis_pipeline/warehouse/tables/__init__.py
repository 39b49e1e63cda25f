"""Every warehouse table, declared here one module per family and registered on import:

    spec.py           TableSpec and Layout (what a table is), the TABLES registry
    reference.py      trading_calendar, symbols
    daily.py          daily bars, rankings, investor flows
    derivatives.py    KOSPI200 futures and options daily bars
    activity.py       per-symbol daily trends: program trading, credit, short sales, lending
    fundamentals.py   financial statements (and their *_latest views), dividends
    company.py        stock info, analyst opinions and estimates (as_of snapshots)
    intraday.py       one-minute bars
    ranking_lists.py  the snapshot rankings of KIS's screens (valuation, credit, ...)
    rest_rejects.py   the REST records the parsers refused
    ticks.py          trade, order book, expected execution and market status ticks
    stream.py         the tick collector's sessions, gaps and refused frames

The batch tables store the typed endpoints' frames as they are (`common.schemas`); how the
collector fills the tick tables from the wire is `streaming.tables`.
"""

from kis_pipeline.warehouse.tables import (  # noqa: F401  (each registers its tables)
    activity,
    company,
    daily,
    derivatives,
    fundamentals,
    intraday,
    ranking_lists,
    reference,
    rest_rejects,
    stream,
    ticks,
)
from kis_pipeline.warehouse.tables.fundamentals import LATEST_VIEWS
from kis_pipeline.warehouse.tables.spec import (
    TABLES,
    VIEWS,
    Layout,
    PartitionBy,
    TableSpec,
    ViewSpec,
    layout_of,
    register_table,
    register_view,
)

__all__ = [
    "LATEST_VIEWS",
    "TABLES",
    "VIEWS",
    "Layout",
    "PartitionBy",
    "TableSpec",
    "ViewSpec",
    "layout_of",
    "register_table",
    "register_view",
]
