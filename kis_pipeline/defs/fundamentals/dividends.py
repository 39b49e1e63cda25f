"""`dividends`: the KSD dividend schedule (SPEC §10.8), one partition per record-date year.

A year is fetched for all issues in 31-day windows (12 calls) or, when `KIS_SYMBOLS` names
fewer symbols than that, symbol by symbol (one call each: a symbol has a handful of rows a
year). Announced dividends with future record dates appear in the current year's partition,
so the weekly run refreshes this year (and last year until its year-end pay dates are fixed).
A run restricted to some symbols replaces only their rows of the year.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from kis_pipeline.common.clock import KST_NAME, now_kst
from kis_pipeline.defs.calendar.writing import run_metadata, skipped_in_paper, write_one
from kis_pipeline.defs.clock_checks import clock_check
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.ingest.dividends import fetch_year
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.lib.run_context import POOL, selected_symbols
from kis_pipeline.warehouse import Scope, Warehouse

TABLE = "dividends"
KEY = ["symbol", "record_date", "dividend_kind", "share_class"]
UNIQUE_KEYS = "dividends_unique_keys"
PAID_AFTER_RECORD = "dividends_paid_after_record"
FRESH_DAYS = 8

record_years = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 1 *", start="2015", fmt="%Y", timezone=KST_NAME, end_offset=1
)


def dividend_checks(frame: pl.DataFrame) -> list[dg.AssetCheckResult]:
    dupes = frame.filter(frame.select(KEY).is_duplicated()).select(KEY)
    early = frame.filter(pl.col("pay_date") < pl.col("record_date")).select(
        "symbol", "record_date", "pay_date"
    )
    return [
        dg.AssetCheckResult(
            check_name=UNIQUE_KEYS, passed=dupes.height == 0, metadata=check_metadata(dupes)
        ),
        dg.AssetCheckResult(
            check_name=PAID_AFTER_RECORD, passed=early.height == 0, metadata=check_metadata(early)
        ),
    ]


@dg.asset(
    name=TABLE,
    group_name="fundamentals",
    partitions_def=record_years,
    pool=POOL,
    kinds={"parquet"},
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(days=FRESH_DAYS)),
    description=(
        "One row per (symbol, record_date, dividend_kind, share_class): the KSD dividend "
        "schedule by record date, dividend per share in KRW."
    ),
    check_specs=[
        dg.AssetCheckSpec(UNIQUE_KEYS, asset=TABLE, description="No dividend twice."),
        dg.AssetCheckSpec(
            PAID_AFTER_RECORD, asset=TABLE, description="No pay date before its record date."
        ),
    ],
)
def dividends(
    # `context` stays unannotated: Dagster rejects the string annotation that
    # `from __future__ import annotations` would make of it.
    context,
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    paper = skipped_in_paper(
        context, kis.settings().env, TABLE, "ksdinfo/dividend", [UNIQUE_KEYS, PAID_AFTER_RECORD]
    )
    if paper is not None:
        return paper
    year = int(context.partition_key)
    only = selected_symbols(context, kis.settings().symbols)
    with kis.client() as client:
        frame, mode = fetch_year(client, year, only)
    frame = frame.sort("symbol", "record_date")
    written = write_one(warehouse.warehouse(), TABLE, str(year), frame, scope=Scope.of(only))
    return dg.MaterializeResult(
        metadata=run_metadata(frame, written, client, fetched=mode),
        check_results=dividend_checks(frame),
    )


def refreshed_years(day: dt.date) -> list[str]:
    """The record years the weekly run refreshes on `day`: this year, and last year through
    April (shareholder meetings that fix year-end pay dates run to March 31, and the first
    Saturday after them can fall in April)."""
    return [str(day.year - 1), str(day.year)] if day.month <= 4 else [str(day.year)]


@clock_check(
    asset=dividends,
    name="dividends_fresh",
    description="The weekly run rewrote its year's partition within the last eight days.",
)
def dividends_fresh(wh: Warehouse) -> dg.AssetCheckResult:
    now = now_kst()
    # The year every weekly run of the last eight days rewrote: until the first Saturday of a
    # year has run, the newest partition is last year's (the schedule keeps it until April).
    year = str((now - dt.timedelta(days=FRESH_DAYS)).year)
    written = wh.written_at(TABLE, year)
    passed = written is not None and now - written <= dt.timedelta(days=FRESH_DAYS)
    return dg.AssetCheckResult(
        passed=passed,
        metadata=check_metadata(
            [] if passed else [year], written=written.isoformat() if written else ""
        ),
    )
