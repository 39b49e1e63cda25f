"""`symbols`: the listed universe from the KIS master files, one snapshot per trading day.

The master files only describe the current listing, so only the newest partition can be
captured: a run captures its last day if that day is the newest session KIS has bars for, or
later (the evening run after the close, or the morning run before the open). Older partitions
are left alone: nothing is written and the run says so in its metadata, because copying
today's listing into the past would fake a point-in-time history (delisted names missing,
later listings present). Readers asking about a day before the first snapshot get the oldest
snapshot there is (`defs.prices.reference.Universe`). Closed days get no snapshot either: the
previous session's stands for them.

`KIS_SYMBOLS` (and a run's `kis/symbols` tag) restrict the snapshot: such a run replaces only
those symbols' rows of it. A malformed master-file
record (a short code such as `??????` or blank, a field that does not fit the layout) is
rejected into `rest_rejects` and fails `symbols_no_rejects`; the other records are written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import dagster as dg
import polars as pl

from kis_pipeline.common.clock import KST_NAME, today_kst
from kis_pipeline.defs.calendar.sessions import plan_days
from kis_pipeline.defs.calendar.writing import run_metadata, write_one
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.ingest.symbols import SCHEMA, capture
from kis_pipeline.kis.master_layout import MARKETS
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.lib.partitions import trading_days
from kis_pipeline.lib.quality import (
    check_spec,
    completeness_severity,
    no_rejects_result,
    no_rejects_spec,
)
from kis_pipeline.lib.run_context import POOL, partition_days, selected_symbols
from kis_pipeline.warehouse import Scope

TABLE = "symbols"
UNIQUE_KEYS = "symbols_unique_keys"
KNOWN_MARKETS = "symbols_known_markets"
COMPLETE = "symbols_complete"


def symbols_checks(
    frame: pl.DataFrame,
    only: Sequence[str] | None,
    captured: bool,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> list[dg.AssetCheckResult]:
    if not captured:
        note = {"note": "no snapshot written by this run"}
        return [
            dg.AssetCheckResult(check_name=name, passed=True, metadata=check_metadata([], **note))
            for name in (UNIQUE_KEYS, KNOWN_MARKETS, COMPLETE)
        ]
    dupes = frame.filter(frame.select("date", "symbol").is_duplicated()).select("date", "symbol")
    unknown = frame.filter(~pl.col("market").is_in(list(MARKETS))).select("symbol", "market")
    present = set(frame["symbol"].to_list())
    missing = sorted(set(only) - present) if only is not None else []
    return [
        dg.AssetCheckResult(
            check_name=UNIQUE_KEYS, passed=dupes.height == 0, metadata=check_metadata(dupes)
        ),
        dg.AssetCheckResult(
            check_name=KNOWN_MARKETS,
            passed=unknown.height == 0,
            metadata=check_metadata(unknown),
        ),
        dg.AssetCheckResult(
            check_name=COMPLETE,
            passed=frame.height > 0 and not missing,
            severity=severity,
            metadata=check_metadata(missing, listed=frame.height),
        ),
    ]


@dg.asset(
    name=TABLE,
    group_name="universe",
    partitions_def=trading_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=POOL,
    kinds={"parquet"},
    freshness_policy=dg.FreshnessPolicy.cron(
        deadline_cron="0 10 * * 1-5", lower_bound_delta=dt.timedelta(hours=3), timezone=KST_NAME
    ),
    description=(
        "One row per (date, symbol): the listed ordinary stocks of KOSPI, KOSDAQ and KONEX as "
        "the master files showed them that day (captured for the newest day only)."
    ),
    check_specs=[
        check_spec(TABLE, "unique_keys", "No (date, symbol) twice."),
        check_spec(TABLE, "known_markets", "Market is KOSPI, KOSDAQ or KONEX."),
        check_spec(TABLE, "complete", "Not empty, and every symbol of KIS_SYMBOLS is listed."),
        no_rejects_spec(TABLE),
    ],
)
def symbols(
    # `context` stays unannotated: Dagster rejects the string annotation that
    # `from __future__ import annotations` would make of it.
    context,
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    wh = warehouse.warehouse()
    settings = kis.settings()
    only = selected_symbols(context, settings.symbols)
    # The morning run is before the open: the master files are ready then, the bars are not.
    plan = plan_days(wh, partition_days(context), table=TABLE, after_close=False)
    frame = pl.DataFrame(schema=SCHEMA)
    written = client = None
    reason = "every day of the run was a closed day" if not plan.to_fetch else ""
    if plan.to_fetch:
        day = plan.to_fetch[-1]
        with kis.client() as client:
            captured, reason = capture(client, day, only, today_kst())
        if captured is not None:
            frame = captured
            written = write_one(wh, TABLE, day.isoformat(), frame, scope=Scope.of(only))
    if reason:
        context.log.warning(f"{TABLE}: nothing captured: {reason}")
    return dg.MaterializeResult(
        metadata=run_metadata(
            frame,
            written,
            client,
            captured=written is not None,
            snapshot_date=frame["date"][0].isoformat() if frame.height else "",
            reason=reason,
        ),
        check_results=[
            *symbols_checks(frame, only, written is not None, completeness_severity(context)),
            no_rejects_result(context, TABLE, client),
        ],
    )
