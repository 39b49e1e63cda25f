"""The warehouse's tables: schema, partitioning, unique key, sort order and lake layout of each.

Batch tables reuse the endpoint schemas of `kis.schemas` (API -> typed frames -> Parquet, no
reshaping in between) plus the few columns the warehouse adds. Other packages register their
own tables (`register_table`), e.g. the tick tables of `streaming`.

Two partitionings, on purpose: `partition_by` is the unit a write replaces (a day, a year), what
Dagster materializes; `Layout.partitioned_by` is how DuckLake groups data files on disk (by
default one folder per year), what queries prune by. `Layout` is the knob to tune: the layout
benchmark (bench/README.md) sets its defaults, and a change is applied to an existing table on
its next write (new files follow it; maintenance rewrites old ones as it merges them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

from kis_pipeline.common.clock import KST_NAME
from kis_pipeline.kis import schemas

PartitionBy = Literal["date", "year"]

# Rows per Parquet row group: small groups let a query for one symbol skip most of a year's file
# by min/max statistics (bench/README.md "DuckDB layout" measured 16,384 against the default).
ROW_GROUP_SIZE = 16_384


@dataclass(frozen=True)
class Layout:
    """How DuckLake stores a table: file partitioning (SQL expressions on its columns), the row
    order within files (None: the table's `sort`), row group size, and the largest insert kept
    in the catalog instead of a file (None: DuckLake's default)."""

    partitioned_by: tuple[str, ...]
    sorted_by: tuple[str, ...] | None = None
    row_group_size: int | None = ROW_GROUP_SIZE
    inline_rows: int | None = None

    def sort(self, spec: TableSpec) -> tuple[str, ...]:
        return self.sorted_by if self.sorted_by is not None else spec.sort

    def describe(self, spec: TableSpec) -> str:
        """The table's comment in the lake: its description and this layout (so a changed
        layout is seen, and applied, on the next write)."""
        parts = [
            f"partitioned by {', '.join(self.partitioned_by) or 'nothing'}",
            f"sorted by {', '.join(self.sort(spec))}",
        ]
        if self.row_group_size:
            parts.append(f"row groups of {self.row_group_size:,}")
        if self.inline_rows is not None:
            parts.append(f"inlined up to {self.inline_rows} rows")
        return f"{spec.description} [{'; '.join(parts)}]"

    def statements(self, spec: TableSpec) -> list[str]:
        """The SQL that gives the lake's table this partitioning and sort order (idempotent)."""
        name = f'"{spec.name}"'
        return [
            f"ALTER TABLE {name} SET PARTITIONED BY ({', '.join(self.partitioned_by)})"
            if self.partitioned_by
            else f"ALTER TABLE {name} RESET PARTITIONED BY",
            f"ALTER TABLE {name} SET SORTED BY ({', '.join(self.sort(spec))})",
        ]

    def options(self, spec: TableSpec) -> list[str]:
        """The DuckLake options of the table (set once it exists)."""
        found = []
        options = {
            "parquet_row_group_size": self.row_group_size,
            "data_inlining_row_limit": self.inline_rows,
        }
        for option, value in options.items():
            if value is not None:
                found.append(
                    f"CALL ducklake_set_option('lake', '{option}', {int(value)}, "
                    f"table_name => '{spec.name}')"
                )
        return found


@dataclass(frozen=True)
class TableSpec:
    """One warehouse table. `partition_column` is a Date column; `partition_by` its grain."""

    name: str
    schema: pl.Schema
    partition_by: PartitionBy
    partition_column: str
    key: tuple[str, ...]
    sort: tuple[str, ...]
    description: str
    # How the lake stores it; None: `yearly(partition_column)`.
    layout: Layout | None = None
    # The table's quality gates: the checks (`<table>_<name>`) that fail the run writing it
    # when they fail (blocking asset checks in Dagster). Other checks only report.
    gates: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        missing = [
            c for c in (self.partition_column, *self.key, *self.sort) if c not in self.schema
        ]
        if missing:
            raise ValueError(f"table {self.name}: columns {missing} are not in its schema")
        if self.schema[self.partition_column] != pl.Date:
            raise ValueError(f"table {self.name}: partition column must be a Date")

    def partition_expr(self) -> pl.Expr:
        """The partition string of each row: `YYYY-MM-DD` or `YYYY`."""
        column = pl.col(self.partition_column)
        if self.partition_by == "year":
            return column.dt.year().cast(pl.String)
        return column.dt.strftime("%Y-%m-%d")


def yearly(column: str) -> Layout:
    """One folder of files per year: O(years) files per table once merged."""
    return Layout((f"year({column})",))


def layout_of(spec: TableSpec) -> Layout:
    return spec.layout if spec.layout is not None else yearly(spec.partition_column)


TABLES: dict[str, TableSpec] = {}


def register_table(spec: TableSpec) -> TableSpec:
    existing = TABLES.get(spec.name)
    if existing is not None and existing != spec:
        raise ValueError(f"table {spec.name} is already registered with a different spec")
    TABLES[spec.name] = spec
    return spec


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

REST_REJECTS = pl.Schema(
    {
        # The day the record was received (KST); the record's own date is `date`.
        "received_date": pl.Date,
        "received_at": pl.Datetime("us", KST_NAME),
        # One batch per client session: the rejects one run's fetching produced.
        "batch_id": pl.String,
        "record": pl.Int64,
        "endpoint": pl.String,
        "tr_id": pl.String,
        "target_table": pl.String,
        "symbol": pl.String,
        "date": pl.Date,
        "field": pl.String,
        "reason": pl.String,
        "raw": pl.String,
    }
)

STREAM_SESSIONS = pl.Schema(
    {
        "date": pl.Date,
        "session_id": pl.String,
        "started_at": pl.Datetime("us", KST_NAME),
        "ended_at": pl.Datetime("us", KST_NAME),
        "reason": pl.String,
        "frames": pl.Int64,
        "subscriptions": pl.Int64,
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
        "symbols",
        SYMBOLS,
        "date",
        "date",
        ("date", "symbol"),
        ("symbol",),
        "One row per (date, symbol): the listed universe as the master files showed it that day.",
        gates=("unique_keys", "complete", "no_rejects"),
    ),
    TableSpec(
        "daily_prices",
        schemas.DAILY_PRICES,
        "date",
        "date",
        ("date", "symbol"),
        ("symbol", "date"),
        "One row per (date, symbol): raw (unadjusted) daily OHLCV and traded value in KRW.",
        gates=("unique_keys", "ohlc_consistent", "complete", "no_rejects"),
    ),
    TableSpec(
        "daily_prices_adjusted",
        schemas.DAILY_PRICES_ADJUSTED,
        "date",
        "date",
        ("date", "symbol"),
        ("symbol", "date"),
        "One row per (date, symbol): split-adjusted OHLCV as KIS computes it, with adj_factor.",
        gates=("unique_keys", "ohlc_consistent", "complete", "no_rejects"),
    ),
    TableSpec(
        "index_daily",
        schemas.INDEX_DAILY,
        "date",
        "date",
        ("date", "index_code"),
        ("index_code", "date"),
        "One row per (date, index_code): daily bars of KOSPI, KOSDAQ and KOSPI200.",
        gates=("unique_keys", "complete", "no_rejects"),
    ),
    TableSpec(
        "overseas_daily_prices",
        schemas.OVERSEAS_DAILY_PRICES,
        "date",
        "date",
        ("date", "exchange", "symbol"),
        ("exchange", "symbol", "date"),
        "One row per (exchange date, exchange, symbol): overseas daily bars in local currency.",
        gates=("unique_keys",),
    ),
    TableSpec(
        "rankings",
        schemas.RANKINGS,
        "date",
        "date",
        ("date", "ranking", "rank"),
        ("ranking", "rank", "date"),
        "One row per (date, ranking, rank): top 30 by volume, rise, fall, market cap.",
    ),
    TableSpec(
        "investor_flows",
        schemas.INVESTOR_FLOWS,
        "date",
        "date",
        ("date", "symbol"),
        ("symbol", "date"),
        "One row per (date, symbol): net buying by investor type (shares, KRW).",
        gates=("unique_keys", "no_rejects"),
    ),
    TableSpec(
        "market_investor_flows",
        schemas.MARKET_INVESTOR_FLOWS,
        "date",
        "date",
        ("date", "market"),
        ("market", "date"),
        "One row per (date, market): market-wide net buying by investor type.",
        gates=("unique_keys", "complete", "no_rejects"),
    ),
    TableSpec(
        "balance_sheet",
        schemas.BALANCE_SHEET,
        "date",
        "as_of",
        ("as_of", "symbol", "period", "period_type"),
        ("symbol", "period", "as_of"),
        "One row per (as_of, symbol, period, period_type): balance-sheet items in KRW.",
    ),
    TableSpec(
        "income_statement",
        schemas.INCOME_STATEMENT,
        "date",
        "as_of",
        ("as_of", "symbol", "period", "period_type"),
        ("symbol", "period", "as_of"),
        "One row per (as_of, symbol, period, period_type): income items in KRW (quarters YTD).",
    ),
    TableSpec(
        "financial_ratios",
        schemas.FINANCIAL_RATIOS,
        "date",
        "as_of",
        ("as_of", "symbol", "period", "period_type"),
        ("symbol", "period", "as_of"),
        "One row per (as_of, symbol, period, period_type): growth and per-share ratios.",
    ),
    TableSpec(
        "dividends",
        schemas.DIVIDENDS,
        "year",
        "record_date",
        ("symbol", "record_date", "dividend_kind", "share_class"),
        ("symbol", "record_date"),
        "One row per (symbol, record_date, dividend_kind, share_class): the KSD dividend schedule.",
    ),
    TableSpec(
        "rest_rejects",
        REST_REJECTS,
        "date",
        "received_date",
        ("batch_id", "record"),
        ("received_at", "record"),
        "One row per REST record (or master-file line) KIS sent that broke its table's rules: "
        "why, and the record as received. Nothing KIS sends is dropped silently.",
    ),
    TableSpec(
        "stream_sessions",
        STREAM_SESSIONS,
        "date",
        "date",
        ("session_id",),
        ("started_at",),
        "One row per WebSocket session of the tick collector: when it ran and why it ended.",
    ),
):
    register_table(_spec)

# Views that keep only the newest figures per (symbol, period, period_type).
LATEST_VIEWS = {
    f"{name}_latest": name for name in ("balance_sheet", "income_statement", "financial_ratios")
}
