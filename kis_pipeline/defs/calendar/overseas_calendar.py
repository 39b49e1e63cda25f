"""`overseas_calendar`: one row per (date, overseas exchange), one warehouse partition per
year, from countries-holiday (SPEC §13.8), one call per weekday not yet past and stored
(`ingest.overseas_calendar`). `overseas_daily_prices` judges its completeness against it.
KIS's mock (paper) service has no countries-holiday: the asset is skipped there, with a reason.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from kis_pipeline.common.clock import today_kst
from kis_pipeline.defs.calendar.partitions import calendar_years
from kis_pipeline.defs.calendar.writing import run_metadata, skipped_in_paper, write_one
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.ingest.overseas_calendar import calendar_year
from kis_pipeline.kis.endpoints.overseas_calendar import COUNTRIES_HOLIDAY
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.lib.quality import check_spec
from kis_pipeline.lib.run_context import POOL
from kis_pipeline.lib.schedules import asset_job, years_schedule

TABLE = "overseas_calendar"
CHECKS = [f"{TABLE}_unique_keys", f"{TABLE}_weekends_closed"]
# Next year's partition joins the weekly run this close to the year end.
NEXT_YEAR_FROM = dt.timedelta(days=31)


def calendar_checks(frame: pl.DataFrame) -> list[dg.AssetCheckResult]:
    dupes = frame.filter(pl.struct("date", "exchange").is_duplicated()).select("date", "exchange")
    weekend_open = frame.filter((pl.col("date").dt.weekday() >= 6) & pl.col("is_open"))
    return [
        dg.AssetCheckResult(
            check_name=CHECKS[0], passed=dupes.is_empty(), metadata=check_metadata(dupes)
        ),
        dg.AssetCheckResult(
            check_name=CHECKS[1],
            passed=weekend_open.is_empty(),
            metadata=check_metadata(weekend_open.select("date", "exchange")),
        ),
    ]


@dg.asset(
    name=TABLE,
    group_name="calendar",
    partitions_def=calendar_years,
    pool=POOL,
    kinds={"parquet"},
    check_specs=[
        check_spec(TABLE, "unique_keys", "No (date, exchange) twice."),
        check_spec(TABLE, "weekends_closed", "No exchange open on a weekend."),
    ],
    description=(
        "One row per (date, overseas exchange): whether the exchange trades that day and the "
        "local and domestic settlement dates of a trade made then (countries-holiday, §13.8)."
    ),
)
def overseas_calendar(
    context,  # unannotated: see defs.calendar.trading_calendar
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    paper = skipped_in_paper(context, kis.settings().env, TABLE, COUNTRIES_HOLIDAY.name, CHECKS)
    if paper is not None:
        return paper
    year = context.partition_key
    wh = warehouse.warehouse()
    with kis.client() as client:
        built = calendar_year(client, int(year), wh.read(TABLE, [year]), today_kst())
        written = write_one(wh, TABLE, year, built.frame)
        meta = run_metadata(built.frame, written, client, days_kept=built.kept_days)
    return dg.MaterializeResult(metadata=meta, check_results=calendar_checks(built.frame))


overseas_calendar_job = asset_job(
    overseas_calendar, "One year of the overseas calendar: one countries-holiday call a weekday."
)


def overseas_years_for(today: dt.date) -> list[str]:
    """Today's year, and next year in its last month."""
    return sorted({str(today.year), str((today + NEXT_YEAR_FROM).year)})


overseas_calendar_schedule = years_schedule(
    "overseas_calendar_schedule",
    overseas_calendar_job,
    cron="0 8 * * 6",
    years=overseas_years_for,
    run_key_prefix="overseas_calendar-",
    description="Saturday mornings: the overseas exchanges' days from today to the year end.",
)
