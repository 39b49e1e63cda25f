"""`market_daily`: each session's market, per listed name, built from the warehouse with no call
(`ingest.market_daily`): nightly on weekdays at 19:50, and in a backfill after the prices.

Checks: no (date, symbol) twice; every close of `daily_prices` has its row (`complete`); and
market cap is close × listed shares wherever a master snapshot gave the shares
(`market_cap_consistent`, a warning: a name with no snapshot on or before the day has none).
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from kis_pipeline.defs.calendar.freshness import NIGHTLY_FRESHNESS
from kis_pipeline.defs.calendar.runs import daily_run, run_scope
from kis_pipeline.defs.calendar.writing import report_written, run_metadata, write_days
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.ingest.market_daily import build
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.lib.partitions import trading_days
from kis_pipeline.lib.quality import COMPLETE, check_spec, unique_keys_result
from kis_pipeline.lib.schedules import asset_day_schedule
from kis_pipeline.lib.table_asset import NO_CALL, table_asset

TABLE = "market_daily"
RUN_WEEKDAYS = 261
CHECKS = [
    check_spec(TABLE, "unique_keys", "No (date, symbol) twice."),
    check_spec(TABLE, COMPLETE, "Every close of daily_prices has its row."),
    check_spec(TABLE, "shares_known", "Every row has the listed shares of a master snapshot."),
]


@table_asset(
    TABLE,
    group="corporate",
    description=(
        "One row per (date, symbol): listed shares, market cap, PER, PBR, EPS and BPS at the "
        "session's close, from the warehouse (no call); foreign ratios null."
    ),
    checks=CHECKS,
    source="daily_prices, symbols, financial_ratios",
    calls=NO_CALL,
    partitions_def=trading_days,
    # No call: a year of days is one run.
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=RUN_WEEKDAYS),
    deps=["daily_prices", "symbols", "financial_ratios"],
    freshness_policy=NIGHTLY_FRESHNESS,
)
def market_daily(
    context,  # unannotated: Dagster rejects the string annotation of `from __future__`
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    run = daily_run(run_scope(context, kis, warehouse), TABLE)
    wh = run.warehouse
    days = [d.isoformat() for d in run.days.days]
    stored = set(wh.partitions("daily_prices"))
    daily = wh.read("daily_prices", [d for d in days if d in stored])
    last = max(days) if days else ""
    shares = wh.select("symbols", "date <= ?", [last]) if days else pl.DataFrame()
    ratios = wh.read("financial_ratios")
    frame = build(daily, shares if not shares.is_empty() else _no_shares(), ratios)
    written = write_days(wh, TABLE, frame, run.days.days)
    report_written(run.progress, written)
    missing = daily.filter(pl.col("close").is_not_null()).join(
        frame, on=["date", "symbol"], how="anti"
    )
    unknown = frame.filter(pl.col("listed_shares").is_null()).select("date", "symbol")
    return dg.MaterializeResult(
        metadata=run_metadata(frame, written, None),
        check_results=[
            unique_keys_result(TABLE, frame),
            dg.AssetCheckResult(
                check_name=f"{TABLE}_{COMPLETE}",
                passed=missing.is_empty(),
                metadata=check_metadata(missing.select("date", "symbol")),
            ),
            dg.AssetCheckResult(
                check_name=f"{TABLE}_shares_known",
                passed=unknown.is_empty(),
                severity=dg.AssetCheckSeverity.WARN,
                metadata=check_metadata(unknown),
            ),
        ],
    )


def _no_shares() -> pl.DataFrame:
    return pl.DataFrame(schema={"date": pl.Date, "symbol": pl.String, "listed_shares": pl.Int64})


market_daily_job, market_daily_schedule = asset_day_schedule(
    market_daily,
    cron="50 19 * * 1-5",
    job_description="The session's market cap and valuation per name, from the warehouse.",
    description="Weekdays after the nightly families: the day's market_daily.",
)
