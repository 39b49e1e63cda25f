"""What the data-quality report shows, section by section, as frames read from the warehouse.

Each section is one question about the data, answered by SQL on the lake (`warehouse.connect`)
or by a frame the command read from Dagster's instance (asset-check evaluations, the nightly
multi-quote cross-checks): no Dagster import here. `page.py` draws them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import polars as pl

from kis_pipeline.warehouse import TABLES

# Ticks start at 09:00:00 on a normal day; a first trade later than this says the market opened
# late (the KRX opens at 10:00 on the day of the college entrance exam).
LATE_OPEN_AFTER = dt.time(9, 1)
# Tables that are not one row per symbol and session.
# (`symbols` is the master file's snapshot, kept on the days one was taken.)
NOT_DAILY = (
    "trade_ticks",
    "orderbook_ticks",
    "expected_ticks",
    "market_status",
    "rest_rejects",
    "symbols",
)


@dataclass
class Section:
    """One part of the page: a title, sentences, a chart's data and a table to show."""

    title: str
    lines: list[str] = field(default_factory=list)
    chart: pl.DataFrame | None = None  # x in the first column, one series per other column
    chart_kind: str = "line"  # line | bar | scatter
    y_label: str = ""
    table: pl.DataFrame | None = None


def daily_symbol_tables() -> list[str]:
    """Tables of one row per (date, symbol) partitioned by day: those completeness is about."""
    return sorted(
        name
        for name, spec in TABLES.items()
        if spec.partition_by == "date"
        and {"date", "symbol"} <= set(spec.schema)
        and name not in NOT_DAILY
        and not name.startswith("stream_")
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> pl.DataFrame:
    return con.execute(sql, params).pl()


def completeness(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> Section:
    section = Section("Completeness against the calendar and the universe", chart_kind="line")
    sessions = _frame(
        con,
        "SELECT date FROM trading_calendar WHERE is_market_open AND date BETWEEN ? AND ? "
        "ORDER BY date",
        [start, end],
    )["date"].to_list()
    universe = _frame(
        con,
        # The universe of a day: the newest symbols snapshot on or before it (else the first),
        # and the names the newest listings knows as delisted since that were listed then and
        # are not in that snapshot.
        "WITH days AS (SELECT d.date, coalesce((SELECT max(date) FROM symbols "
        "WHERE date <= d.date), (SELECT min(date) FROM symbols)) AS snap "
        "FROM (SELECT unnest(?::DATE[]) AS date) d), "
        "gone AS (SELECT symbol, listed_on, delisted_on FROM listings "
        "WHERE as_of = (SELECT max(as_of) FROM listings) AND delisted_on IS NOT NULL) "
        "SELECT days.date, (SELECT count(*) FROM symbols s WHERE s.date = days.snap) "
        "+ (SELECT count(*) FROM gone WHERE coalesce(listed_on <= days.date, true) "
        "AND delisted_on > days.date AND symbol NOT IN "
        "(SELECT symbol FROM symbols s WHERE s.date = days.snap)) AS n FROM days",
        [sessions],
    )
    if not sessions:
        section.lines.append(f"trading_calendar has no open session in {start}..{end}.")
        return section
    coverage = pl.DataFrame({"date": sessions})
    rows = []
    for table in daily_symbol_tables():
        counts = _frame(
            con,
            f"SELECT date, count(DISTINCT symbol) AS symbols FROM {table} "
            "WHERE date BETWEEN ? AND ? GROUP BY date",
            [start, end],
        )
        if counts.is_empty():
            continue
        joined = universe.join(counts, on="date", how="left").with_columns(
            pl.col("symbols").fill_null(0)
        )
        share = (100 * joined["symbols"] / joined["n"]).round(1)
        coverage = coverage.with_columns(share.alias(table))
        missing = joined.filter(pl.col("symbols") == 0)["date"].to_list()
        rows.append(
            {
                "table": table,
                "sessions": len(sessions),
                "sessions_with_rows": len(sessions) - len(missing),
                "median_symbols": int(joined["symbols"].median() or 0),
                "universe": int(joined["n"].max() or 0),
                "missing_sessions": ", ".join(str(d) for d in missing[:5])
                + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""),
            }
        )
    section.lines.append(
        f"{len(sessions)} open sessions in {start}..{end} by trading_calendar; each table's "
        "symbols per session against the universe of that day (the newest symbols snapshot "
        "on or before it, and the names delisted since that listings knows were listed then: "
        "only the daily price tables cover those)."
    )
    if not rows:
        section.lines.append("No daily table holds rows in that span.")
        return section
    section.chart, section.y_label = coverage, "% of the universe"
    section.table = pl.DataFrame(rows)
    return section


def tick_volume(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> Section:
    section = Section("Tick volume against daily volume", chart_kind="scatter")
    frame = _frame(
        con,
        "SELECT t.date, t.symbol, sum(t.volume)::BIGINT AS tick_volume, "
        "any_value(d.volume)::BIGINT AS daily_volume "
        "FROM trade_ticks t JOIN daily_prices d USING (date, symbol) "
        "WHERE t.date BETWEEN ? AND ? GROUP BY t.date, t.symbol ORDER BY t.date, t.symbol",
        [start, end],
    )
    if frame.is_empty():
        section.lines.append("No symbol-day has both trade ticks and a daily bar in the span.")
        return section
    frame = frame.with_columns(
        share=(100 * pl.col("tick_volume").cast(pl.Float64) / pl.col("daily_volume")).round(1)
    )
    full = frame.filter(pl.col("share").is_between(99.5, 100.5)).height
    section.lines.append(
        f"{frame.height} symbol-days with ticks: {full} hold the day's whole volume in ticks "
        "(99.5 to 100.5 %); the rest were streamed for part of the day or lost trades."
    )
    section.chart = frame.select("daily_volume", "tick_volume")
    section.y_label = "volume in trade ticks"
    section.table = frame.sort("share").head(15)
    return section


def cross_checks(frame: pl.DataFrame) -> Section:
    """`frame`: date, symbols, cross_checked per nightly run that priced from the multi-quote."""
    section = Section("Multi-quote against chart closes", chart_kind="bar")
    if frame.is_empty():
        section.lines.append(
            "No nightly run took prices from the multi-quote in the span (backfills read the "
            "daily chart)."
        )
        return section
    section.lines.append(
        f"{frame.height} nightly runs priced {int(frame['symbols'].sum())} symbol-days from the "
        f"multi-quote and checked {int(frame['cross_checked'].sum())} of them against the daily "
        "chart's close (one in each batch of 30). A disagreement fails the run before it writes: "
        "such runs appear under the asset-check and run history, not here."
    )
    section.chart, section.y_label = frame.select("date", "cross_checked"), "symbols checked"
    section.table = frame
    return section


def stream_gaps(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> Section:
    section = Section("Gaps in the tick stream", chart_kind="bar")
    sessions = _frame(
        con,
        "SELECT date, count(*) AS sessions FROM stream_sessions WHERE date BETWEEN ? AND ? "
        "GROUP BY date",
        [start, end],
    )
    gaps = _frame(
        con,
        "SELECT date, gap_id, started_at AT TIME ZONE 'Asia/Seoul' AS started_at, "
        "ended_at AT TIME ZONE 'Asia/Seoul' AS ended_at, "
        "round(epoch(ended_at) - epoch(started_at), 1) AS seconds, reason, rest_rows, "
        "rest_covered FROM stream_gaps WHERE date BETWEEN ? AND ? ORDER BY started_at",
        [start, end],
    )
    if sessions.is_empty() and gaps.is_empty():
        section.lines.append("No collector session is recorded in the span.")
        return section
    section.lines.append(
        f"{int(sessions['sessions'].sum()) if not sessions.is_empty() else 0} collector "
        f"sessions, {_count(gaps.height, 'gap')} between them, {gaps['seconds'].sum() or 0:.0f} s "
        "without a stream in all."
    )
    if not gaps.is_empty():
        per_day = gaps.group_by("date").agg(pl.col("seconds").sum()).sort("date")
        section.chart, section.y_label = per_day, "seconds without a stream"
        section.table = gaps
    return section


def check_history(frame: pl.DataFrame, days: int) -> Section:
    """`frame`: timestamp, asset, check, passed, severity per asset-check evaluation of the
    last `days` days (when the checks ran, whatever days their data were of)."""
    section = Section("Asset-check history", chart_kind="bar")
    if frame.is_empty():
        section.lines.append(f"No asset check ran in the last {days} days.")
        return section
    section.lines.append(f"The checks that ran in the last {days} days, by the day they ran.")
    failed = frame.filter(~pl.col("passed"))
    section.lines.append(
        f"{_count(frame.height, 'evaluation')} of {_count(frame['check'].n_unique(), 'check')}; "
        f"{failed.height} failed ({failed.filter(pl.col('severity') == 'WARN').height} "
        "warnings)."
    )
    per_day = (
        frame.with_columns(day=pl.col("timestamp").dt.date())
        .group_by("day")
        .agg(passed=pl.col("passed").sum(), failed=(~pl.col("passed")).sum())
        .sort("day")
    )
    section.chart, section.y_label = per_day, "evaluations"
    section.table = (
        frame.group_by("asset", "check")
        .agg(
            evaluations=pl.len(),
            failed=(~pl.col("passed")).sum(),
            last=pl.col("timestamp").max(),
            last_failed=pl.col("timestamp").filter(~pl.col("passed")).max(),
        )
        .sort("failed", "asset", "check", descending=[True, False, False])
    )
    return section


def late_opens(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> Section:
    section = Section("Days the market opened late", chart_kind="bar")
    first = _frame(
        con,
        "SELECT date, min(ts AT TIME ZONE 'Asia/Seoul') AS first_trade, count(*) AS ticks "
        "FROM trade_ticks WHERE date BETWEEN ? AND ? AND source = 'websocket' "
        "GROUP BY date ORDER BY date",
        [start, end],
    )
    if first.is_empty():
        section.lines.append("No streamed trade ticks in the span: nothing shows when it opened.")
        return section
    first = first.with_columns(
        minutes_after_nine=(
            (pl.col("first_trade").dt.hour().cast(pl.Int32) - 9) * 60
            + pl.col("first_trade").dt.minute().cast(pl.Int32)
        )
    )
    late = first.filter(pl.col("first_trade").dt.time() > LATE_OPEN_AFTER)
    section.lines.append(
        f"The first streamed trade of each of {first.height} days; {late.height} began after "
        f"{LATE_OPEN_AFTER:%H:%M} (a late open, as on the college entrance exam day, or a "
        "collector started late: `stream_sessions` says which)."
    )
    section.chart = first.select("date", "minutes_after_nine")
    section.y_label = "first trade, minutes after 09:00"
    section.table = first
    return section
