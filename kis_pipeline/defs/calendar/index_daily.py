"""`index_daily`: daily bars of KOSPI, KOSDAQ and KOSPI200, one warehouse partition per day.

The bars are also the calendar's evidence: a weekday with a KOSPI bar was a session, a
weekday without one (while KIS already has later bars) was closed. So this asset cannot wait
for the calendar; it walks the index chart over its whole range (50 bars a call, SPEC §12.3)
and writes an empty partition for each closed weekday. Days the calendar already marks closed
cost nothing, and a run whose days are all closed makes no call.

A rejected bar (`kis.records`) leaves its day out of the table. For KOSPI that day would read
as closed to the calendar, so it is not written at all and the run fails whatever
`--allow-incomplete` says: a session must never be recorded as a holiday because KIS sent
one broken record.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from kis_pipeline.common.clock import today_kst
from kis_pipeline.defs.calendar.freshness import NIGHTLY_FRESHNESS, freshness_check
from kis_pipeline.defs.calendar.sessions import (
    KOSPI,
    SETTLES,
    plan_days,
    resolve_days,
)
from kis_pipeline.defs.calendar.writing import run_metadata, write_days
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.ingest.calendar_evidence import kospi_rejects
from kis_pipeline.ingest.index_daily import INDEX_CODES, fetch_index_days
from kis_pipeline.kis import schemas
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.lib.partitions import trading_days
from kis_pipeline.lib.quality import (
    check_spec,
    completeness_severity,
    no_rejects_result,
    no_rejects_spec,
)
from kis_pipeline.lib.run_context import POOL, partition_days
from kis_pipeline.warehouse import Scope

TABLE = "index_daily"
UNIQUE_KEYS = "index_daily_unique_keys"
COMPLETE = "index_daily_complete"


def index_checks(
    frame: pl.DataFrame,
    sessions: list[dt.date],
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> list[dg.AssetCheckResult]:
    dupes = frame.filter(frame.select("date", "index_code").is_duplicated())
    have = set(frame.select("date", "index_code").iter_rows())
    missing = [
        {"date": day.isoformat(), "index_code": code}
        for day in sessions
        for code in INDEX_CODES
        if (day, code) not in have
    ]
    return [
        dg.AssetCheckResult(
            check_name=UNIQUE_KEYS,
            passed=dupes.height == 0,
            metadata=check_metadata(dupes.select("date", "index_code")),
        ),
        dg.AssetCheckResult(
            check_name=COMPLETE,
            passed=not missing,
            severity=severity,
            metadata=check_metadata(missing, sessions=len(sessions)),
        ),
    ]


@dg.asset(
    name=TABLE,
    group_name="calendar",
    partitions_def=trading_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=POOL,
    kinds={"parquet"},
    metadata=SETTLES,
    freshness_policy=NIGHTLY_FRESHNESS,
    description=(
        "One row per (date, index_code): daily bars of KOSPI (0001), KOSDAQ (1001) and "
        "KOSPI200 (2001); a closed weekday is an empty partition."
    ),
    check_specs=[
        check_spec(TABLE, "unique_keys", "No (date, index_code) twice."),
        check_spec(TABLE, "complete", "Every session has a bar of all three indices."),
        no_rejects_spec(TABLE),
    ],
)
def index_daily(
    # `context` stays unannotated: Dagster rejects the string annotation that
    # `from __future__ import annotations` would make of it.
    context,
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    wh = warehouse.warehouse()
    plan = plan_days(wh, partition_days(context), table=TABLE)
    frame = pl.DataFrame(schema=schemas.INDEX_DAILY)
    client = None
    broken: set[dt.date] = set()
    if plan.fetch_range is None:
        status = {day: False for day in plan.days}
    else:
        with kis.client() as client:
            frame, newest = fetch_index_days(client, *plan.fetch_range, today_kst())
        broken, undated = kospi_rejects(client)
        kospi = set(frame.filter(pl.col("index_code") == KOSPI)["date"].to_list())
        if undated:
            # Any day without a KOSPI bar may be the one whose date could not be read.
            broken |= {d for d in plan.to_fetch if d not in kospi}
        # A day KIS sent a KOSPI bar for was a session, even if the bar was refused.
        status = resolve_days(plan, kospi | broken, newest, what=TABLE)
    # Only the main indices' rows: the sector sub-indices beside them are another asset's.
    scope = Scope.of(INDEX_CODES, by="index_code")
    written = write_days(wh, TABLE, frame, [d for d in plan.days if d not in broken], scope=scope)
    if broken:
        days = ", ".join(sorted(d.isoformat() for d in broken))
        raise dg.Failure(
            f"{TABLE}: the KOSPI bar of {days} was rejected (see rest_rejects); the trading "
            "calendar could not tell that session from a holiday, so the day is not written: "
            "rerun when KIS serves it correctly"
        )
    sessions = [day for day, is_open in status.items() if is_open]
    closed = [day.isoformat() for day, is_open in status.items() if not is_open]
    return dg.MaterializeResult(
        metadata=run_metadata(
            frame,
            written,
            client,
            sessions=len(sessions),
            closed_days=closed,
        ),
        check_results=[
            *index_checks(frame, sessions, completeness_severity(context)),
            no_rejects_result(context, TABLE, client),
        ],
    )


index_daily_fresh = freshness_check(
    TABLE, description="Every session of the last ten days due by now has its bars."
)
