"""A domain's definitions assembled one way: its assets, jobs and schedules, and a job and
schedule of its own that run its freshness checks."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from kis_pipeline.common.clock import KST_NAME

# The nightly runs start at 18:30 KST; by 21:00 the day's partitions should be in.
FRESHNESS_CRON = "0 21 * * 1-5"


def domain_definitions(
    domain: str,
    *,
    assets: Sequence[dg.AssetsDefinition],
    checks: list[dg.AssetChecksDefinition],
    jobs: Sequence[dg.UnresolvedAssetJobDefinition],
    schedules: Sequence[dg.ScheduleDefinition],
    freshness_cron: str = FRESHNESS_CRON,
    freshness_when: str = "Weekdays after the evening runs",
) -> dg.Definitions:
    """A domain's definitions: its assets, jobs and schedules, and its freshness `checks`
    with `<domain>_freshness_job` running them on `<domain>_freshness_schedule`
    (`freshness_cron` in Asia/Seoul, described as `freshness_when`)."""
    freshness_job = dg.define_asset_job(
        f"{domain}_freshness_job",
        selection=dg.AssetSelection.checks(*checks),
        description=f"The {domain} domain's freshness checks, on the warehouse as it stands.",
    )
    freshness_schedule = dg.ScheduleDefinition(
        name=f"{domain}_freshness_schedule",
        job=freshness_job,
        cron_schedule=freshness_cron,
        execution_timezone=KST_NAME,
        description=f"{freshness_when}: is the {domain} domain current?",
    )
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=[*jobs, freshness_job],
        schedules=[*schedules, freshness_schedule],
    )
