"""`index_minute_bars`: the main indices' intraday bars of the session (SPEC §12.5), nightly on
weekdays at 18:35, one call per index.

§12.5 answers only the newest 102 bars of the current session and pages no further, so only
the newest session can be fetched (a backfill skips the others in one line, nothing stored) and
the bar length decides how much of it: ten-minute bars (the default, `KIS_INDEX_BAR_SECONDS`
600) cover the whole session in one call; one-minute bars (60) only its last 102 minutes, which
`index_minute_bars_whole_session` reports as a warning. History is kept from the first run on.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from kis_pipeline.common import krx_calendar
from kis_pipeline.common.clock import now_kst
from kis_pipeline.common.intraday_schemas import INDEX_MINUTE_BARS
from kis_pipeline.defs.calendar.runs import daily_run, run_scope
from kis_pipeline.defs.calendar.sessions import SETTLES
from kis_pipeline.defs.calendar.writing import (
    report_calls,
    report_written,
    run_metadata,
    skipped_in_paper,
    write_days,
)
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.ingest.index_daily import INDEX_CODES
from kis_pipeline.ingest.reference import latest_session
from kis_pipeline.kis.endpoints.minute_bars import INDEX_BARS, fetch_index_bars
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.lib.partitions import trading_days
from kis_pipeline.lib.quality import (
    check_spec,
    no_rejects_result,
    no_rejects_spec,
    unique_keys_result,
)
from kis_pipeline.lib.schedules import asset_day_schedule
from kis_pipeline.lib.table_asset import table_asset

TABLE = "index_minute_bars"
CHECKS = [
    check_spec(TABLE, "unique_keys", "No (index_code, bar_seconds, ts) twice."),
    no_rejects_spec(TABLE),
    check_spec(
        TABLE,
        "whole_session",
        "Every main index has bars that start at the session's open and reach its close.",
    ),
]


def short_sessions(frame: pl.DataFrame, fetched: dt.date | None) -> pl.DataFrame:
    """(date, index_code, first, last) of the indices whose bars of the `fetched` session do
    not span it (first and last null: no bar at all)."""
    if fetched is None:
        return pl.DataFrame(schema=SHORT)
    spans = frame.group_by("date", "index_code").agg(
        pl.col("ts").min().dt.time().alias("first"), pl.col("ts").max().dt.time().alias("last")
    )
    expected = pl.DataFrame({"date": [fetched] * len(INDEX_CODES), "index_code": INDEX_CODES})
    spans = expected.join(spans, on=["date", "index_code"], how="left")
    rows = [
        row
        for row in spans.sort("date", "index_code").iter_rows(named=True)
        if (row["first"], row["last"]) != krx_calendar.session_hours(row["date"])
    ]
    return pl.DataFrame(rows, schema=SHORT, orient="row")


SHORT = {"date": pl.Date, "index_code": pl.String, "first": pl.Time, "last": pl.Time}


@table_asset(
    TABLE,
    group="intraday",
    description=(
        "One row per (index_code, bar_seconds, ts): intraday bars of "
        f"{', '.join(INDEX_CODES)} (KIS_INDEX_BAR_SECONDS, ten minutes by default); only the "
        "newest session can be fetched."
    ),
    checks=CHECKS,
    source=f"SPEC §12.5 {INDEX_BARS.tr_id}",
    calls=f"{len(INDEX_CODES)} a night (one per index)",
    metadata=SETTLES,
    partitions_def=trading_days,
    deps=["trading_calendar"],
)
def index_minute_bars(
    context,  # unannotated: Dagster rejects the string annotation of `from __future__`
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    scope = run_scope(context, kis, warehouse)
    settings = scope.settings
    paper = skipped_in_paper(
        context, settings.env, TABLE, INDEX_BARS.name, [c.name for c in CHECKS]
    )
    if paper is not None:
        return paper
    run = daily_run(scope, TABLE)
    newest = latest_session(run.warehouse, now_kst())
    old = [d for d in run.days.to_fetch if d != newest]
    note = ""
    if old:
        note = (
            f"{TABLE}: KIS serves only the newest session's index bars (SPEC §12.5, no paging):"
            f" {len(old)} day(s) from {old[0]} to {old[-1]} are skipped, nothing is stored "
            "for them"
        )
        context.log.warning(note)
    frame = pl.DataFrame(schema=INDEX_MINUTE_BARS)
    client = None
    if newest in run.days.to_fetch:
        run.progress.update(force=True, calls_planned=len(INDEX_CODES))
        seconds = settings.index_bar_seconds
        with scope.client() as client:
            frames = []
            for code in INDEX_CODES:
                frames.append(fetch_index_bars(client, code, seconds=seconds))
                report_calls(run.progress, client)
        frame = pl.concat([frame, *frames], how="vertical")
        stale = frame.filter(pl.col("date") != newest)
        if not stale.is_empty():
            raise dg.Failure(
                f"{TABLE}: KIS answered bars of {stale['date'][0]} for {newest}: it has not "
                "published the session yet; rerun after 18:00 KST"
            )
    days = [d for d in run.days.days if d not in set(old)]
    written = write_days(run.warehouse, TABLE, frame, days)
    report_written(run.progress, written)
    short = short_sessions(frame, newest if client is not None else None)
    return dg.MaterializeResult(
        metadata=run_metadata(
            frame,
            written,
            client,
            calls_planned=len(INDEX_CODES) if client else 0,
            **({"skipped": note} if note else {}),
        ),
        check_results=[
            unique_keys_result(TABLE, frame),
            no_rejects_result(context, TABLE, client),
            dg.AssetCheckResult(
                check_name=f"{TABLE}_whole_session",
                passed=short.is_empty(),
                severity=dg.AssetCheckSeverity.WARN,
                metadata=check_metadata(short),
            ),
        ],
    )


index_minute_bars_job, index_minute_bars_schedule = asset_day_schedule(
    index_minute_bars,
    cron="35 18 * * 1-5",
    job_description="The session's intraday bars of the main indices.",
    description="Weekdays after the close: the session's index bars.",
)
