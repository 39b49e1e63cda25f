"""`bonus_issues`: the KSD bonus-issue schedule (ksdinfo/bonus-issue), one partition per
record-date year, all issues in 31-day windows (12 calls a year). Saturdays 08:10, this year
(and last year in January, whose last record dates settle then). Real only: in `paper` it is
skipped with its reason. `corporate_actions` reads it for the bonus issues' ratios and ex
dates.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from kis_pipeline.defs.calendar.writing import run_metadata, skipped_in_paper, write_one
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.kis.endpoints.bonus_issues import fetch_bonus_issues
from kis_pipeline.lib.partitions import years
from kis_pipeline.lib.quality import (
    check_spec,
    no_rejects_result,
    no_rejects_spec,
    unique_keys_result,
)
from kis_pipeline.lib.run_context import POOL
from kis_pipeline.lib.schedules import asset_job, year_and_january_last, years_schedule
from kis_pipeline.warehouse import TABLES

TABLE = "bonus_issues"
ENDPOINT = "ksdinfo/bonus-issue"

_CHECKS = [
    check_spec(TABLE, "unique_keys", "No bonus issue twice."),
    no_rejects_spec(TABLE),
]


@dg.asset(
    name=TABLE,
    group_name="corporate",
    partitions_def=years,
    pool=POOL,
    kinds={"parquet"},
    metadata={"kis/source": "KSD bonus-issue schedule, ksdinfo/bonus-issue HHKDB669101C0"},
    description=f"{TABLES[TABLE].description} One partition per year; 12 calls a year.",
    check_specs=_CHECKS,
)
def bonus_issues(
    # `context` stays unannotated: Dagster rejects the string annotation that
    # `from __future__ import annotations` would make of it.
    context,
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    checks = [spec.name for spec in _CHECKS]
    paper = skipped_in_paper(context, kis.settings().env, TABLE, ENDPOINT, checks)
    if paper is not None:
        return paper
    year = int(context.partition_key)
    # Announced issues have record dates ahead: the whole year is asked for.
    with kis.client() as client:
        frame = fetch_bonus_issues(client, dt.date(year, 1, 1), dt.date(year, 12, 31))
    written = write_one(warehouse.warehouse(), TABLE, str(year), frame)
    return dg.MaterializeResult(
        metadata=run_metadata(frame, written, client),
        check_results=[
            unique_keys_result(TABLE, frame),
            no_rejects_result(context, TABLE, client),
        ],
    )


bonus_issues_job = asset_job(bonus_issues, "One year of the KSD bonus-issue schedule.")
bonus_issues_schedule = years_schedule(
    "bonus_issues_schedule",
    bonus_issues_job,
    cron="10 8 * * 6",
    years=year_and_january_last,
    run_key_prefix="bonus_issues-",
    description="Saturday mornings: this year's KSD bonus-issue schedule.",
)
