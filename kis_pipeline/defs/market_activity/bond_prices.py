"""`bond_prices`: the daily bars of the KRX-listed bonds of `KIS_BOND_SYMBOLS`, one partition per
trading day (`kis.endpoints.bond_prices`).

KIS's bond chart takes no date: one call answers a bond's newest sessions (30 on the page this
pipeline reads; deeper pages behind `tr_cont` are not walked). A run asks once per bond and keeps
the partition's day. A day older than every bar of the answer is skipped in one line, nothing
written; a closed day is an empty partition without a call; a bond KIS does not know is one line
once the others are written. Without `KIS_BOND_SYMBOLS` the asset is skipped in one line.

Checks: `unique_keys`, `complete` (every bond has the day's bar), `ohlc` (low <= open, close
<= high), `no_rejects`.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from kis_pipeline.common.bond_schemas import BOND_PRICES
from kis_pipeline.defs.calendar.sessions import SETTLES, plan_days
from kis_pipeline.defs.calendar.writing import run_metadata, skipped, write_one
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.kis.endpoints.bond_prices import BOND_PRICES_DAILY, fetch_bond_page
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

TABLE = "bond_prices"
CHECKS = [
    check_spec(TABLE, "unique_keys", "No (date, symbol) twice."),
    check_spec(TABLE, COMPLETE, "Every bond of KIS_BOND_SYMBOLS has the day's bar."),
    check_spec(TABLE, "ohlc", "Low <= open, close <= high on every bar."),
    no_rejects_spec(TABLE),
]


def bond_checks(
    context: dg.AssetExecutionContext, frame: pl.DataFrame, missing: list[str], client: object
) -> list[dg.AssetCheckResult]:
    bad = frame.filter(
        ~pl.col("open").is_between(pl.col("low"), pl.col("high"))
        | ~pl.col("close").is_between(pl.col("low"), pl.col("high"))
    ).select("date", "symbol")
    return [
        unique_keys_result(TABLE, frame),
        dg.AssetCheckResult(
            check_name=f"{TABLE}_{COMPLETE}",
            passed=not missing,
            severity=completeness_severity(context),
            metadata=check_metadata(missing),
        ),
        dg.AssetCheckResult(
            check_name=f"{TABLE}_ohlc", passed=bad.is_empty(), metadata=check_metadata(bad)
        ),
        no_rejects_result(context, TABLE, client),  # type: ignore[arg-type]
    ]


@table_asset(
    TABLE,
    group="market_activity",
    description=(
        "One row per (date, symbol): the daily bar of each KRX-listed bond of "
        "KIS_BOND_SYMBOLS, prices in KRW per 10,000 KRW face; none without KIS_BOND_SYMBOLS."
    ),
    checks=CHECKS,
    source=f"official samples, {BOND_PRICES_DAILY.name} {BOND_PRICES_DAILY.tr_id}",
    calls="1 per bond a day",
    real_only=BOND_PRICES_DAILY.name,
    partitions_def=trading_days,
    metadata=SETTLES,
    deps=["trading_calendar"],
)
def bond_prices(
    context,  # unannotated: Dagster rejects the string annotation of `from __future__`
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    codes = kis.settings().bond_symbols
    names = [c.name for c in CHECKS]
    if not codes:
        reason = f"{TABLE} skipped: KIS_BOND_SYMBOLS is not set (e.g. KR103502GA34)"
        return skipped(context, reason, names)
    day = dt.date.fromisoformat(context.partition_key)
    wh = warehouse.warehouse()
    # A day not yet settled fails here in one line; a day the calendar marks closed costs no call.
    plan = plan_days(wh, [day], table=TABLE)
    empty = pl.DataFrame(schema=BOND_PRICES)
    if day in plan.closed:
        written = write_one(wh, TABLE, day.isoformat(), empty)
        return dg.MaterializeResult(
            metadata=run_metadata(empty, written, closed=True),
            check_results=bond_checks(context, empty, [], None),
        )
    frames, unknown, oldest = [empty], [], []
    with kis.client() as client:
        for code in codes:
            try:
                page = fetch_bond_page(client, code)
            except BusinessError as exc:
                unknown.append(f"{code} ({exc})")
                continue
            if page.height:
                oldest.append(page["date"].min())
            frames.append(page.filter(pl.col("date") == day))
    if oldest and day < min(oldest):
        reason = (
            f"{TABLE} skipped: {day} is older than the sessions KIS answers in one call "
            f"(from {min(oldest)}); nothing written"
        )
        return skipped(context, reason, names)
    frame = pl.concat(frames, how="vertical")
    written = write_one(wh, TABLE, day.isoformat(), frame)
    if unknown:
        raise dg.Failure(
            f"{TABLE}: KIS does not know {', '.join(unknown)}; check KIS_BOND_SYMBOLS "
            "(the other bonds are written)"
        )
    missing = sorted(set(codes) - set(frame["symbol"].to_list()))
    return dg.MaterializeResult(
        metadata=run_metadata(frame, written, client, bonds=len(codes)),
        check_results=bond_checks(context, frame, missing, client),
    )


bond_prices_job, bond_prices_schedule = asset_day_schedule(
    bond_prices,
    cron="30 19 * * 1-5",
    job_description="The day's bars of the KRX-listed bonds of KIS_BOND_SYMBOLS.",
    description="Weekdays after the close: the day's bond bars.",
)
