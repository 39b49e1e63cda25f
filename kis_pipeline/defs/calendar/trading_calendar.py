"""`trading_calendar`: one row per calendar day, one warehouse partition per year.

The past comes from the data itself (`index_daily`: a day with a KOSPI bar is a session), the
weeks ahead from chk-holiday, called at most once a day (`ingest.holiday_memory`);
`ingest.calendar_evidence` gathers the bars' word and `ingest.calendar_build` holds the rules.
A year whose days are all in the past never calls chk-holiday.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from kis_pipeline.common.clock import now_kst, today_kst
from kis_pipeline.defs.calendar.index_daily import index_daily
from kis_pipeline.defs.calendar.partitions import calendar_years
from kis_pipeline.defs.calendar.sessions import days_between
from kis_pipeline.defs.calendar.writing import run_metadata, write_one
from kis_pipeline.defs.clock_checks import clock_check
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.ingest.calendar_build import build_year
from kis_pipeline.ingest.calendar_evidence import year_evidence
from kis_pipeline.ingest.holiday_memory import holiday_answer
from kis_pipeline.kis import schemas
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.lib.run_context import POOL
from kis_pipeline.warehouse import Warehouse

TABLE = "trading_calendar"
UNIQUE_DATES = "trading_calendar_unique_dates"
WEEKENDS_CLOSED = "trading_calendar_weekends_closed"
AGREES = "trading_calendar_agrees_with_chk_holiday"
CONTIGUOUS = "trading_calendar_contiguous"
COVERS_AHEAD = "trading_calendar_covers_ahead"
# The current year's calendar should reach at least this far past today.
AHEAD = dt.timedelta(days=7)


def calendar_checks(
    frame: pl.DataFrame, conflicts: list[dict[str, object]], year: int, today: dt.date
) -> list[dg.AssetCheckResult]:
    dupes = frame.filter(pl.col("date").is_duplicated()).select("date")
    weekend_open = frame.filter((pl.col("date").dt.weekday() >= 6) & pl.col("is_trading_day"))
    dates = set(frame["date"].to_list())
    holes = (
        [d.isoformat() for d in days_between(min(dates), max(dates)) if d not in dates]
        if dates
        else []
    )
    checks = [
        dg.AssetCheckResult(
            check_name=UNIQUE_DATES, passed=dupes.height == 0, metadata=check_metadata(dupes)
        ),
        dg.AssetCheckResult(
            check_name=WEEKENDS_CLOSED,
            passed=weekend_open.height == 0,
            metadata=check_metadata(weekend_open.select("date", "source")),
        ),
        dg.AssetCheckResult(
            check_name=AGREES, passed=not conflicts, metadata=check_metadata(conflicts)
        ),
        dg.AssetCheckResult(
            check_name=CONTIGUOUS,
            passed=not holes,
            severity=dg.AssetCheckSeverity.WARN,
            metadata=check_metadata(holes, hint="materialize index_daily for these days"),
        ),
    ]
    reach = min(today + AHEAD, dt.date(year, 12, 31))
    newest = max(dates) if dates else None
    ahead_ok = year != today.year or (newest is not None and newest >= reach)
    checks.append(
        dg.AssetCheckResult(
            check_name=COVERS_AHEAD,
            passed=ahead_ok,
            severity=dg.AssetCheckSeverity.WARN,
            metadata=check_metadata(
                [] if ahead_ok else [reach.isoformat()],
                newest_day=newest.isoformat() if newest else "",
            ),
        )
    )
    return checks


@dg.asset(
    name=TABLE,
    group_name="calendar",
    partitions_def=calendar_years,
    deps=[
        dg.AssetDep(
            index_daily,
            partition_mapping=dg.TimeWindowPartitionMapping(
                allow_nonexistent_upstream_partitions=True
            ),
        )
    ],
    pool=POOL,
    kinds={"parquet"},
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=36)),
    description=(
        "One row per calendar day: whether KRX was (or will be) open, a business day, a "
        "settlement day; past days from the index bars, the weeks ahead from chk-holiday."
    ),
    check_specs=[
        dg.AssetCheckSpec(UNIQUE_DATES, asset=TABLE, description="No date twice."),
        dg.AssetCheckSpec(WEEKENDS_CLOSED, asset=TABLE, description="No weekend session."),
        dg.AssetCheckSpec(
            AGREES,
            asset=TABLE,
            blocking=True,
            description="The bars never contradict what chk-holiday said about a day.",
        ),
        dg.AssetCheckSpec(
            CONTIGUOUS, asset=TABLE, description="No day missing inside the covered span."
        ),
        dg.AssetCheckSpec(
            COVERS_AHEAD, asset=TABLE, description="This year's calendar reaches a week ahead."
        ),
    ],
)
def trading_calendar(
    # `context` stays unannotated: Dagster rejects the string annotation that
    # `from __future__ import annotations` would make of it.
    context,
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    year = int(context.partition_key)
    wh = warehouse.warehouse()
    now = now_kst()
    today = now.date()
    with kis.client() as client:
        ahead = kis.settings().env != "paper"
        days, base, filled = year_evidence(wh, client, year, now, ahead=ahead)
        answer = holiday_answer(kis.settings(), client, year, base, today)
    chk = answer.frame if answer is not None else pl.DataFrame(schema=schemas.TRADING_CALENDAR)
    built = build_year(year, days, chk, wh.read(TABLE, [str(year)]))
    if built.conflicts:
        context.log.error(f"{TABLE} {year}: the bars contradict chk-holiday on {built.conflicts}")
    written = write_one(wh, TABLE, str(year), built.frame)
    by_source = dict(built.frame.group_by("source").len().iter_rows())
    return dg.MaterializeResult(
        metadata=run_metadata(
            built.frame,
            written,
            client,
            chk_holiday_called=bool(answer is not None and answer.called),
            chk_holiday_base=answer.base_date.isoformat() if answer is not None else "",
            days_read_from_chart=len(filled),
            rows_by_source=by_source,
        ),
        check_results=calendar_checks(built.frame, built.conflicts, year, today),
    )


@clock_check(
    asset=trading_calendar,
    name="trading_calendar_fresh",
    description="The calendar reaches a week past today (chk-holiday ran recently).",
)
def trading_calendar_fresh(warehouse: Warehouse) -> dg.AssetCheckResult:
    today = today_kst()
    reach = today + AHEAD
    years = [str(y) for y in range(today.year, reach.year + 1)]
    dates = warehouse.read(TABLE, years)["date"]
    newest = dates.max() if dates.len() else None
    passed = newest is not None and newest >= reach  # type: ignore[operator]
    return dg.AssetCheckResult(
        passed=passed,
        metadata=check_metadata(
            [] if passed else [reach.isoformat()], newest_day=str(newest) if newest else ""
        ),
    )
