"""`futures_options_daily`: the night's bars of the KOSPI200 futures and options chain
(`kis.endpoints.futures_options`), one partition per trading day.

A run asks for the two nearest quarterly futures, then for the calls and puts of the front
option month at the strikes around the nearest futures' close; a day on which the nearest
futures has no bar was closed and becomes an empty partition. On the night of the session the
snapshot columns (open interest, KOSPI200 level, basis, theoretical price) are filled while the
day is the newest session (the calendar closes every later day up to today); a backfill of an
older day leaves them null, since KIS sends them for the latest session only.
KIS's paper service answers this TR_ID, so the asset runs there as well.

Checks: `unique_keys`, `complete` (every planned code has its bar), `ohlc` (low <= open, close
<= high), `put_call_parity` (at each strike, call less put is the nearest futures less the
strike within `PARITY_TOLERANCE` of the futures), `no_rejects`.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from kis_pipeline.common.clock import today_kst
from kis_pipeline.common.derivative_schemas import FUTURES_OPTIONS_DAILY
from kis_pipeline.defs.calendar.sessions import SETTLES, plan_days
from kis_pipeline.defs.calendar.writing import run_metadata, write_one
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.ingest.days import days_between, split_closed
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.futures_options import (
    DAILY_CHART,
    TABLE,
    Chain,
    calls_per_day,
    fetch_chain,
)
from kis_pipeline.kis.errors import BusinessError
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.lib.partitions import trading_days
from kis_pipeline.lib.quality import (
    COMPLETE,
    check_spec,
    completeness_severity,
    no_rejects_result,
    no_rejects_spec,
    unique_keys_result,
)
from kis_pipeline.lib.schedules import asset_day_schedule
from kis_pipeline.lib.table_asset import table_asset
from kis_pipeline.warehouse import Warehouse

GROUP = "market_activity"
# Call less put may differ from futures less strike by the carry between the option's and the
# futures' expiries and by closes struck at different moments: 1 % of the futures level.
PARITY_TOLERANCE = 0.01

CHECKS = [
    check_spec(TABLE, "unique_keys", "No (date, symbol) twice."),
    check_spec(TABLE, COMPLETE, "Every planned futures and option code has its bar."),
    check_spec(TABLE, "ohlc", "Low <= open, close <= high on every bar."),
    check_spec(
        TABLE,
        "put_call_parity",
        "Call less put is the nearest futures less the strike, within 1 % of the futures.",
    ),
    no_rejects_spec(TABLE),
]


def parity_breaks(frame: pl.DataFrame) -> pl.DataFrame:
    """The (date, strike) pairs whose call less put strays from futures less strike."""
    nearest = (
        frame.filter(pl.col("kind") == "future")
        .sort("expiry_month")
        .group_by("date", maintain_order=True)
        .first()
        .select("date", pl.col("close").alias("futures"))
    )
    sides = [
        frame.filter(pl.col("kind") == kind).select("date", "strike", pl.col("close").alias(kind))
        for kind in ("call", "put")
    ]
    pairs = sides[0].join(sides[1], on=["date", "strike"]).join(nearest, on="date")
    gap = (pl.col("call") - pl.col("put") - (pl.col("futures") - pl.col("strike"))).abs()
    return pairs.filter(gap > PARITY_TOLERANCE * pl.col("futures")).sort("date", "strike")


def check_results(
    context: dg.AssetExecutionContext,
    frame: pl.DataFrame,
    planned: tuple[str, ...],
    client: KisClient | None,
) -> list[dg.AssetCheckResult]:
    missing = sorted(set(planned) - set(frame["symbol"].to_list()))
    bad_bars = frame.filter(
        (pl.col("low") > pl.col("high"))
        | ~pl.col("open").is_between(pl.col("low"), pl.col("high"))
        | ~pl.col("close").is_between(pl.col("low"), pl.col("high"))
    ).select("date", "symbol")
    broken = parity_breaks(frame)
    return [
        unique_keys_result(TABLE, frame),
        dg.AssetCheckResult(
            check_name=f"{TABLE}_{COMPLETE}",
            passed=not missing,
            severity=completeness_severity(context),
            metadata=check_metadata(missing, expected=len(planned)),
        ),
        dg.AssetCheckResult(
            check_name=f"{TABLE}_ohlc",
            passed=bad_bars.is_empty(),
            metadata=check_metadata(bad_bars),
        ),
        dg.AssetCheckResult(
            check_name=f"{TABLE}_put_call_parity",
            passed=broken.is_empty(),
            metadata=check_metadata(broken),
        ),
        no_rejects_result(context, TABLE, client),
    ]


def is_latest_session(wh: Warehouse, day: dt.date) -> bool:
    """Whether `day` is the newest session by now: every later day up to today is closed by the
    calendar (`output1`, which carries no date, then describes it)."""
    later = days_between(day + dt.timedelta(days=1), today_kst())
    return not split_closed(wh, later).to_fetch


@table_asset(
    TABLE,
    group=GROUP,
    description=(
        "One row per (date, symbol): daily bars of the two nearest KOSPI200 futures and of the "
        "front month's calls and puts at the five strikes around the money "
        f"({DAILY_CHART.name}); a closed day is an empty partition."
    ),
    checks=CHECKS,
    source=f"{DAILY_CHART.section} {DAILY_CHART.tr_id}",
    calls=f"{calls_per_day()} a day",
    partitions_def=trading_days,
    metadata=SETTLES,
    deps=["trading_calendar"],
)
def futures_options_daily(
    context,  # unannotated: Dagster rejects the string annotation of `from __future__`
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    day = dt.date.fromisoformat(context.partition_key)
    wh = warehouse.warehouse()
    # A day not yet settled fails here in one line; a day the calendar marks closed costs no call.
    plan = plan_days(wh, [day], table=TABLE)
    if day in plan.closed:
        chain = Chain(pl.DataFrame(schema=FUTURES_OPTIONS_DAILY), (), 0)
        written = write_one(wh, TABLE, day.isoformat(), chain.frame)
        return dg.MaterializeResult(
            metadata=run_metadata(chain.frame, written, closed=True),
            check_results=check_results(context, chain.frame, chain.planned, None),
        )
    with kis.client() as client:
        try:
            chain = fetch_chain(client, day, snapshot=is_latest_session(wh, day))
        except BusinessError as exc:
            raise dg.Failure(
                f"{TABLE}: KIS refused a code of the {day} chain ({exc}); nothing written"
            ) from None
    written = write_one(wh, TABLE, day.isoformat(), chain.frame)
    context.log.info(f"{TABLE}: {chain.frame.height} bars of {len(chain.planned)} codes on {day}")
    return dg.MaterializeResult(
        metadata=run_metadata(chain.frame, written, client, codes=len(chain.planned)),
        check_results=check_results(context, chain.frame, chain.planned, client),
    )


futures_options_job, futures_options_schedule = asset_day_schedule(
    futures_options_daily,
    cron="25 19 * * 1-5",
    job_description="The day's KOSPI200 futures and at-the-money options bars.",
    description="Weekdays after the close: KOSPI200 futures and options bars of the day.",
)
