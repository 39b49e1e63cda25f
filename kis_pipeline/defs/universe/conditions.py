"""`condition_results`: what the user's saved screening condition (`KIS_CONDITION`, SPEC §7.12)
matched after each session's close, weekdays at 18:20: at most 100 names, best first, two calls
a run. KIS serves only the screen as it stands, so the table is the condition's history, kept
from the first run on; `minute_bars` takes the day's names from it as its watchlist.
"""

from __future__ import annotations

import dagster as dg

from kis_pipeline.common.clock import today_kst
from kis_pipeline.defs.calendar.writing import run_metadata, skipped, write_one
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.kis.endpoints.conditions import RESULT, fetch_condition
from kis_pipeline.kis.errors import KisConfigError
from kis_pipeline.lib.quality import (
    check_spec,
    no_rejects_result,
    no_rejects_spec,
    unique_keys_result,
)
from kis_pipeline.lib.schedules import asset_job, today_schedule
from kis_pipeline.lib.table_asset import table_asset
from kis_pipeline.warehouse import Scope

TABLE = "condition_results"
CHECKS = [check_spec(TABLE, "unique_keys", "No name twice in a screen."), no_rejects_spec(TABLE)]
# The simulator serves every user the same saved conditions.
SIM_USER = "simulator"


@table_asset(
    TABLE,
    group="universe",
    description=(
        "One row per (as_of, condition, symbol): the names the saved condition KIS_CONDITION "
        "matched on as_of, best first, with their quote; none without KIS_CONDITION."
    ),
    checks=CHECKS,
    source=f"SPEC §7.12 {RESULT.tr_id}",
    calls="2 a run",
    real_only=RESULT.name,
)
def condition_results(
    context,  # unannotated: Dagster rejects the string annotation of `from __future__`
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    settings = kis.settings()
    if settings.condition is None:
        reason = f"{TABLE} skipped: KIS_CONDITION is not set (the name of a condition you saved)"
        return skipped(context, reason, [c.name for c in CHECKS])
    user = settings.hts_id or (SIM_USER if settings.env == "sim" else None)
    if user is None:
        raise dg.Failure(
            f"{TABLE}: KIS_CONDITION needs KIS_HTS_ID, the HTS login that saved the condition"
        )
    as_of = today_kst()
    with kis.client() as client:
        try:
            frame = fetch_condition(client, user, settings.condition, as_of)
        except KisConfigError as exc:
            raise dg.Failure(f"{TABLE}: {exc}") from None
    # Another condition's screen of the same day stays as it is.
    only = Scope.of([settings.condition], by="condition")
    written = write_one(warehouse.warehouse(), TABLE, as_of.isoformat(), frame, scope=only)
    return dg.MaterializeResult(
        metadata=run_metadata(
            frame, written, client, as_of=as_of.isoformat(), condition=settings.condition
        ),
        check_results=[
            unique_keys_result(TABLE, frame),
            no_rejects_result(context, TABLE, client),
        ],
    )


condition_results_job = asset_job(condition_results, "The saved condition's screen of the day.")
condition_results_schedule = today_schedule(
    "condition_results_schedule",
    condition_results_job,
    cron="20 18 * * 1-5",
    description="Weekdays after the close: what KIS_CONDITION matches.",
)
