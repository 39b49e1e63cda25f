"""Asset checks of the price tables, named `<table>_<property>`.

Each check is a pure function from frames to the offending keys (so it is testable without
Dagster) plus one `AssetCheckResult` builder that puts those keys in the check's metadata.
The assets evaluate them over the partitions a run wrote, right after writing. Which of them
block the run is the table's declaration (`TableSpec.gates`, see `lib.quality`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import dagster as dg
import polars as pl

from kis_pipeline.ingest.adjusted_factor import FACTOR_TOLERANCE, factor_breaks
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.lib.quality import check_spec, no_rejects_spec

__all__ = ["factor_breaks"]


spec = check_spec


def table_specs(table: str, *, adjusted: bool = False) -> list[dg.AssetCheckSpec]:
    specs = [
        spec(table, "ohlc_consistent", "Every bar has low <= open, close <= high."),
        spec(table, "unique_keys", "No two rows share the table's key."),
        spec(table, "complete", "Every listed symbol has a row on every trading day of the run."),
        no_rejects_spec(table),
    ]
    if adjusted:
        specs.append(
            spec(
                table,
                "adj_factor_continuous",
                "adj_factor changes only across splits, by the split ratio, and is 1 on the "
                "newest day.",
            )
        )
    return specs


# -- pure checks ----------------------------------------------------------------------------


def ohlc_violations(frame: pl.DataFrame, key: Sequence[str]) -> pl.DataFrame:
    """Rows where low <= open, close <= high does not hold (null prices are skipped)."""
    low, high = pl.col("low"), pl.col("high")
    bad = (
        (low > high)
        | (pl.col("open") < low)
        | (pl.col("open") > high)
        | (pl.col("close") < low)
        | (pl.col("close") > high)
    ).fill_null(False)
    return frame.filter(bad).select(*key, "open", "high", "low", "close")


def duplicate_keys(frame: pl.DataFrame, key: Sequence[str]) -> pl.DataFrame:
    return (
        frame.group_by(list(key))
        .agg(pl.len().alias("rows"))
        .filter(pl.col("rows") > 1)
        .sort(list(key))
    )


def missing_rows(
    frame: pl.DataFrame, expected: pl.DataFrame, key: Sequence[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(expected keys without a row, rows that were not expected), both sorted."""
    have = frame.select(list(key)).unique()
    missing = expected.join(have, on=list(key), how="anti").sort(list(key))
    extra = have.join(expected, on=list(key), how="anti").sort(list(key))
    return missing, extra


def newest_factor_not_one(adjusted: pl.DataFrame) -> pl.DataFrame:
    """Symbols whose newest row's adj_factor is not 1 (the newest day is never adjusted)."""
    newest = adjusted.sort("date").group_by("symbol").last()
    return newest.filter(
        ((pl.col("adj_factor") - 1).abs() > FACTOR_TOLERANCE).fill_null(True)
    ).select("date", "symbol", "adj_factor")


# -- results --------------------------------------------------------------------------------


def result(
    table: str,
    prop: str,
    offending: pl.DataFrame,
    *,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
    **extra: object,
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=f"{table}_{prop}",
        asset_key=table,
        passed=offending.is_empty(),
        severity=severity,
        metadata=check_metadata(offending, **extra),
    )


def freshness_result(
    table: str, newest: dt.date | None, expected: dt.date | None, run_days: Sequence[dt.date]
) -> dg.AssetCheckResult:
    """WARN when the newest session in the table is older than the latest completed one.

    Only a run that reaches that session can answer: a backfill of older days says nothing
    about freshness (the nightly run does), so it passes and says why.
    """
    if expected is not None and run_days and max(run_days) < expected:
        return result(
            table,
            "fresh",
            pl.DataFrame(schema={"newest": pl.Date, "expected": pl.Date}),
            not_evaluated=f"this run ends at {max(run_days)}, before the newest due day",
            expected=str(expected),
        )
    stale = newest is None or (expected is not None and newest < expected)
    offending = pl.DataFrame(
        {"newest": [newest], "expected": [expected]} if stale else {"newest": [], "expected": []},
        schema={"newest": pl.Date, "expected": pl.Date},
    )
    return result(
        table,
        "fresh",
        offending,
        severity=dg.AssetCheckSeverity.WARN,
        newest=str(newest),
        expected=str(expected),
    )
