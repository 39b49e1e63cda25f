"""`minute_bars`: one-minute bars of the watchlist (`ingest.minute_bars`), nightly on weekdays
at 19:35 for the day, and over any range a backfill names within the year KIS keeps.

Real KIS serves any day of the last year (SPEC §7.6, 4 calls per symbol-day); its paper service
only today's bars (§7.5, 13 calls per symbol-day), so in paper a past day is skipped with one
line. A day older than KIS keeps is skipped the same way: nothing is called or stored for it.
A closed day (its `daily_prices` partition empty, or the calendar says so) is an empty
partition without a call.

Checks: unique (symbol, ts), every watchlist name that traded has bars (`complete`), no
refused record (`no_rejects`), and the bars fit the day's own bar (`match_daily`: open, close,
range and volume, `ingest.minute_bars.disagreements`).
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from kis_pipeline.common.clock import today_kst
from kis_pipeline.common.intraday_schemas import MINUTE_BARS
from kis_pipeline.defs.calendar.runs import daily_run, run_scope
from kis_pipeline.defs.calendar.sessions import SETTLES
from kis_pipeline.defs.calendar.writing import (
    fail_rejected,
    report_calls,
    report_written,
    run_metadata,
    write_days,
)
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.ingest import minute_bars as ingest
from kis_pipeline.kis.endpoints.minute_bars import DATED, TODAY, MinuteChart
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
from kis_pipeline.warehouse import Scope, Warehouse
from kis_pipeline.warehouse.lookups import MissingReference

TABLE = "minute_bars"
# The longest run, in weekday partitions: a quarter (a run's bars stay in memory until written).
RUN_WEEKDAYS = 65

CHECKS = [
    check_spec(TABLE, "unique_keys", "No (symbol, ts) twice."),
    check_spec(TABLE, COMPLETE, "Every watchlist name that traded has bars on every session."),
    no_rejects_spec(TABLE),
    check_spec(
        TABLE,
        "match_daily",
        "The bars open on the day's open, close on its close, stay in its range and trade no "
        "more than its volume.",
    ),
]


def chart_for(env: str) -> MinuteChart:
    """§7.6 where KIS has it; its paper service has only today's §7.5."""
    return TODAY if env == "paper" else DATED


def _not_served(chart: MinuteChart, days: list[dt.date], today: dt.date, env: str) -> str:
    """The one line naming the days `chart` cannot serve, or ''."""
    gone = [d for d in days if not chart.serves(d, today)]
    if not gone:
        return ""
    span = f"{len(gone)} day(s) from {gone[0]} to {gone[-1]}"
    if chart.kept is None:
        why = f"KIS's {env} service serves only today's minute bars (SPEC §16: no §7.6)"
    else:
        why = (
            f"KIS keeps {chart.kept.days} days of minute bars (SPEC §7.6), to {today - chart.kept}"
        )
    return f"{TABLE}: {why}: {span} are skipped, nothing is stored for them"


def _names(
    context: dg.AssetExecutionContext,
    wh: Warehouse,
    daily: pl.DataFrame,
    days: list[dt.date],
    chosen: tuple[str, ...] | None,
    condition: str | None,
) -> dict[dt.date, tuple[str, ...]]:
    """Each day's watchlist: `chosen`, else the names `condition` matched that day, else the
    day's most traded (`ingest.minute_bars.watchlist`); a day the condition did not run is said
    in one line."""
    if not days:
        return {}
    screen = ingest.screened(wh, condition, days) if condition and chosen is None else {}
    unscreened = [d for d in days if condition and chosen is None and d not in screen]
    if unscreened:
        context.log.warning(
            f"{TABLE}: KIS_CONDITION {condition!r} did not run on {len(unscreened)} day(s) from "
            f"{unscreened[0]} to {unscreened[-1]} (condition_results): their watchlist is the "
            f"{ingest.TOP_BY_VALUE} most traded names"
        )
    return ingest.watchlist(daily, days, chosen=chosen, by_day=screen)


@table_asset(
    TABLE,
    group="intraday",
    description=(
        "One row per (symbol, minute): one-minute bars of KIS_MINUTE_SYMBOLS, else of the names "
        f"KIS_CONDITION matched, else of the day's {ingest.TOP_BY_VALUE} most traded names by "
        "value; within the year KIS keeps."
    ),
    checks=CHECKS,
    source="SPEC §7.6 FHKST03010230 (paper: §7.5 FHKST03010200, today only)",
    calls=(
        f"{DATED.calls()} per symbol-day ({TODAY.calls()} in paper); "
        f"{ingest.TOP_BY_VALUE} names a night by default: {ingest.TOP_BY_VALUE * DATED.calls()}"
    ),
    metadata=SETTLES,
    partitions_def=trading_days,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=RUN_WEEKDAYS),
    deps=["daily_prices", "trading_calendar", "condition_results"],
)
def minute_bars(
    context,  # unannotated: Dagster rejects the string annotation of `from __future__`
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    scope = run_scope(context, kis, warehouse)
    settings = scope.settings
    run = daily_run(scope, TABLE)
    today = today_kst()
    chart = chart_for(settings.env)
    note = _not_served(chart, run.days.days, today, settings.env)
    if note:
        context.log.warning(note)
    served = [d for d in run.days.days if chart.serves(d, today)]
    to_fetch = [d for d in run.days.to_fetch if d in set(served)]
    try:
        daily = ingest.daily_bars(run.warehouse, to_fetch)
        names = _names(
            context,
            run.warehouse,
            daily,
            to_fetch,
            run.only or settings.minute_symbols,
            settings.condition,
        )
    except MissingReference as exc:
        raise dg.Failure(f"{TABLE}: {exc}") from None
    planned = ingest.plan(chart, names)
    run.progress.update(force=True, calls_planned=planned.calls)
    client = None
    failures: dict[str, str] = {}
    frame = pl.DataFrame(schema=MINUTE_BARS)
    if planned.calls:
        with scope.client() as client:
            frame, failures = ingest.fetch_minutes(
                client,
                chart,
                planned,
                on_key=lambda failed: report_calls(run.progress, client, failures=failed),
            )
    expected = planned.expected()
    have = frame.select("date", "symbol").unique()
    missing = expected.join(have, on=["date", "symbol"], how="anti").sort("date", "symbol")
    broken = ingest.disagreements(frame, daily) if to_fetch else frame.clear()
    results = [
        unique_keys_result(TABLE, frame),
        dg.AssetCheckResult(
            check_name=f"{TABLE}_{COMPLETE}",
            passed=missing.is_empty(),
            severity=completeness_severity(context),
            metadata=check_metadata(missing, expected=expected.height, failures=failures),
        ),
        no_rejects_result(context, TABLE, client),
        dg.AssetCheckResult(
            check_name=f"{TABLE}_match_daily",
            passed=broken.is_empty(),
            metadata=check_metadata(broken),
        ),
    ]
    kept = Scope.of(run.only).keeping(failures)
    written = write_days(run.warehouse, TABLE, frame, served, scope=kept)
    report_written(run.progress, written, failures=failures)
    fail_rejected(TABLE, failures, "symbols")
    return dg.MaterializeResult(
        metadata=run_metadata(
            frame,
            written,
            client,
            calls_planned=planned.calls,
            symbol_days=expected.height,
            **({"skipped": note} if note else {}),
        ),
        check_results=results,
    )


minute_bars_job, minute_bars_schedule = asset_day_schedule(
    minute_bars,
    cron="35 19 * * 1-5",
    job_description="The day's one-minute bars of the watchlist.",
    description="Weekdays after the close: the day's minute bars of the watchlist.",
)
