"""The asset, job and schedule of a KSD schedule kept a record-date year a partition (the
bonus-issue, capital-reduction, rights-issue and merger schedules): the whole year in one run,
since announced events have record dates ahead; Saturday mornings this year (and last year in
January, whose last record dates settle then). Real only: in `paper` it is skipped with its
reason."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from kis_pipeline.defs.calendar.writing import run_metadata, skipped_in_paper, write_one
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.kis.endpoints.ksd_schedule import KsdSchedule
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


def ksd_year_defs(
    schedule: KsdSchedule,
    *,
    title: str,
    noun: str,
    cron: str,
) -> tuple[dg.AssetsDefinition, dg.UnresolvedAssetJobDefinition, dg.ScheduleDefinition]:
    """The `schedule` table's asset (one partition per record-date year, 12 calls a year), its
    job and its Saturday schedule at `cron`; `title` names the schedule ("KSD bonus-issue
    schedule"), `noun` one row of it ("bonus issue")."""
    table, endpoint, tr_id = schedule.table, f"ksdinfo/{schedule.name}", schedule.tr_id
    checks = [check_spec(table, "unique_keys", f"No {noun} twice."), no_rejects_spec(table)]

    @dg.asset(
        name=table,
        group_name="corporate",
        partitions_def=years,
        pool=POOL,
        kinds={"parquet"},
        metadata={"kis/source": f"{title}, {endpoint} {tr_id}"},
        description=f"{TABLES[table].description} One partition per year; 12 calls a year.",
        check_specs=checks,
    )
    def _asset(
        # `context` stays unannotated: Dagster rejects the string annotation that
        # `from __future__ import annotations` would make of it.
        context,
        kis: KisResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        names = [spec.name for spec in checks]
        paper = skipped_in_paper(context, kis.settings().env, table, endpoint, names)
        if paper is not None:
            return paper
        year = int(context.partition_key)
        with kis.client() as client:
            frame = schedule.fetch(client, dt.date(year, 1, 1), dt.date(year, 12, 31))
        written = write_one(warehouse.warehouse(), table, str(year), frame)
        return dg.MaterializeResult(
            metadata=run_metadata(frame, written, client),
            check_results=[
                unique_keys_result(table, frame),
                no_rejects_result(context, table, client),
            ],
        )

    job = asset_job(_asset, f"One year of the {title}.")
    saturdays = years_schedule(
        f"{table}_schedule",
        job,
        cron=cron,
        years=year_and_january_last,
        run_key_prefix=f"{table}-",
        description=f"Saturday mornings: this year's {title}.",
    )
    return _asset, job, saturdays
