"""`sector_index_daily`: the daily bars of every sector sub-index of KOSPI and KOSDAQ, stored
in `index_daily` beside the main indices (one row per (date, index_code)).

A run asks each category for its sub-index codes (one call each, SPEC §12.4, which KIS's mock
lacks: under `paper` the asset is skipped with one line), then walks each code's chart over the
run's sessions (50 bars a call, §12.3). It replaces only the sub-indices' rows of a day, and
only of a day `index_daily` already holds: a partition of that table is the calendar's evidence
of a session, so this asset never makes one (a day it lacks is one line, no write), and the
KOSPI bar in it tells which days were sessions (a run of closed days makes no call). A rejected
record (a code that is not four digits, a bar that breaks the index rules) is not stored and
fails `sector_index_daily_no_rejects`.
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from kis_pipeline.defs.calendar.freshness import NIGHTLY_FRESHNESS
from kis_pipeline.defs.calendar.runs import start_daily_run
from kis_pipeline.defs.calendar.sessions import KOSPI, SETTLES
from kis_pipeline.defs.calendar.writing import (
    report_calls,
    report_written,
    run_metadata,
    write_days,
)
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.ingest.index_daily import fetch_sector_days
from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints.index import INDEX_CATEGORY
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.lib.partitions import trading_days
from kis_pipeline.lib.quality import NO_REJECTS_DESCRIPTION, completeness_severity
from kis_pipeline.lib.run_context import POOL
from kis_pipeline.lib.schedules import asset_day_schedule
from kis_pipeline.warehouse import Scope

NAME = "sector_index_daily"
TABLE = "index_daily"
CHECKS = {
    "unique_keys": "No (date, index_code) twice.",
    "complete": "Every sub-index KIS lists has a bar on every session.",
    "no_rejects": NO_REJECTS_DESCRIPTION,
}
_KEYS = ["date", "index_code"]


def _results(
    context: dg.AssetExecutionContext,
    frame: pl.DataFrame,
    expected: pl.DataFrame,
    rejects: pl.DataFrame,
) -> list[dg.AssetCheckResult]:
    pairs = frame.select(_KEYS)
    severity = completeness_severity(context)
    found = {
        "unique_keys": (pairs.filter(pairs.is_duplicated()), dg.AssetCheckSeverity.ERROR),
        "complete": (expected.join(pairs, on=_KEYS, how="anti").sort(_KEYS), severity),
        "no_rejects": (rejects, severity),
    }
    return [
        dg.AssetCheckResult(
            check_name=f"{NAME}_{name}",
            passed=offending.is_empty(),
            severity=level,
            metadata=check_metadata(offending),
        )
        for name, (offending, level) in found.items()
    ]


@dg.asset(
    name=NAME,
    group_name="calendar",
    partitions_def=trading_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["index_daily"],
    pool=POOL,
    kinds={"parquet"},
    metadata={**SETTLES, "kis/source": "SPEC §12.4 FHPUP02140000, §12.3 FHKUP03500100"},
    freshness_policy=NIGHTLY_FRESHNESS,
    description=(
        "The sector sub-indices of KOSPI and KOSDAQ in index_daily, one row per (date, "
        "index_code): 2 calls for the codes, then one per code per 50 sessions."
    ),
    check_specs=[
        dg.AssetCheckSpec(f"{NAME}_{name}", asset=NAME, description=text, blocking=True)
        for name, text in CHECKS.items()
    ],
)
def sector_index_daily(
    # `context` stays unannotated: Dagster rejects the string annotation that
    # `from __future__ import annotations` would make of it.
    context,
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    checks = [f"{NAME}_{name}" for name in CHECKS]
    run = start_daily_run(context, kis, warehouse, NAME, INDEX_CATEGORY.name, checks)
    if isinstance(run, dg.MaterializeResult):
        return run
    days = run.days
    held = set(run.warehouse.partitions(TABLE))
    lacking = [d.isoformat() for d in days.days if d.isoformat() not in held]
    if lacking:
        raise dg.Failure(
            f"{NAME}: index_daily has no partition for {', '.join(lacking[:5])}; materialize "
            "index_daily for those days first (its partitions tell sessions from holidays)"
        )
    # The sessions are the days index_daily holds a KOSPI bar for: nothing to guess.
    keys = [d.isoformat() for d in days.days]
    kospi = run.warehouse.read(TABLE, keys).filter(pl.col("index_code") == KOSPI)
    sessions = sorted(set(kospi["date"].to_list()))
    frame = pl.DataFrame(schema=schemas.INDEX_DAILY)
    codes: tuple[str, ...] = ()
    client = None
    if sessions:
        with kis.client() as client:
            frame, codes = fetch_sector_days(client, sessions[0], sessions[-1])
        report_calls(run.progress, client)
        frame = frame.filter(pl.col("date").is_in(sessions))
    expected = pl.DataFrame({"date": sessions}, schema={"date": pl.Date}).join(
        pl.DataFrame({"index_code": list(codes)}, schema={"index_code": pl.String}),
        how="cross",
    )
    rejected = client.rejects.records(table=TABLE) if client is not None else []
    rejects = pl.DataFrame(
        [(r.symbol, r.date, r.field, r.reason) for r in rejected],
        schema={"index_code": pl.String, "date": pl.Date, "field": pl.String, "reason": pl.String},
        orient="row",
    )
    results = _results(context, frame, expected, rejects)
    scope = Scope.of(codes, by="index_code")
    written = write_days(run.warehouse, TABLE, frame, days.days, scope=scope)
    report_written(run.progress, written)
    return dg.MaterializeResult(
        metadata=run_metadata(frame, written, client, sub_indices=list(codes)),
        check_results=results,
    )


sector_index_daily_job, sector_index_daily_schedule = asset_day_schedule(
    sector_index_daily,
    cron="35 18 * * 1-5",
    job_description="The day's bars of every sector sub-index of KOSPI and KOSDAQ.",
    description="After the index bars on weekdays: that day's sector sub-indices.",
)
