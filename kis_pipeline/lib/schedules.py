"""Schedules that request the partitions of the day they fire on.

A tick's day is its scheduled time in the schedule's own timezone: a schedule firing at 18:30
KST asks for that KST day, one firing at 22:00 UTC for that UTC day. Run keys carry the day, so
Dagster never launches a day twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import dagster as dg

from kis_pipeline.common.clock import KST_NAME


def scheduled_day(context: dg.ScheduleEvaluationContext, timezone: str = KST_NAME) -> dt.date:
    """The date, in `timezone`, of the time the tick was scheduled for."""
    return context.scheduled_execution_time.astimezone(ZoneInfo(timezone)).date()


def day_schedule(
    name: str,
    job: dg.UnresolvedAssetJobDefinition,
    *,
    cron: str,
    run_key_prefix: str = "",
    timezone: str = KST_NAME,
    description: str | None = None,
) -> dg.ScheduleDefinition:
    """`job` on `cron` in `timezone`, each tick for the partition of its own day (run key
    `<run_key_prefix><day>`)."""

    @dg.schedule(
        name=name,
        job=job,
        cron_schedule=cron,
        execution_timezone=timezone,
        description=description,
    )
    def request(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        day = scheduled_day(context, timezone).isoformat()
        return dg.RunRequest(run_key=f"{run_key_prefix}{day}", partition_key=day)

    return request


def today_schedule(
    name: str, job: dg.UnresolvedAssetJobDefinition, *, cron: str, description: str
) -> dg.ScheduleDefinition:
    """`job` (unpartitioned: its assets are stamped with the day they run) on `cron` in
    Asia/Seoul, one run a tick (run key `<job's asset name>-<day>`, from `name`)."""
    prefix = name.removesuffix("_schedule")

    @dg.schedule(
        name=name,
        job=job,
        cron_schedule=cron,
        execution_timezone=KST_NAME,
        description=description,
    )
    def request(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        return dg.RunRequest(run_key=f"{prefix}-{scheduled_day(context)}")

    return request


def asset_job(asset: dg.AssetsDefinition, description: str) -> dg.UnresolvedAssetJobDefinition:
    """`<asset>_job`: `asset` alone."""
    return dg.define_asset_job(
        f"{asset.key.to_python_identifier()}_job",
        selection=dg.AssetSelection.assets(asset),
        description=description,
    )


def asset_day_schedule(
    asset: dg.AssetsDefinition, *, cron: str, job_description: str, description: str
) -> tuple[dg.UnresolvedAssetJobDefinition, dg.ScheduleDefinition]:
    """`<asset>_job` and `<asset>_schedule`: the asset on `cron` (Asia/Seoul), each tick for
    its own day's partition (run keys `<asset>-<day>`)."""
    name = asset.key.to_python_identifier()
    job = asset_job(asset, job_description)
    schedule = day_schedule(
        f"{name}_schedule", job, cron=cron, run_key_prefix=f"{name}-", description=description
    )
    return job, schedule


def year_and_january_last(day: dt.date) -> list[str]:
    """`day`'s year, and in January the year before too: a KSD schedule's last weeks of a
    year still settle then."""
    return [str(day.year - 1), str(day.year)] if day.month == 1 else [str(day.year)]


def years_schedule(
    name: str,
    job: dg.UnresolvedAssetJobDefinition,
    *,
    cron: str,
    years: Callable[[dt.date], list[str]],
    run_key_prefix: str,
    description: str,
) -> dg.ScheduleDefinition:
    """`job` on `cron` in Asia/Seoul, each tick for the year partitions `years(day)` of its
    day (run keys `<run_key_prefix><year>-<day>`)."""

    @dg.schedule(
        name=name,
        job=job,
        cron_schedule=cron,
        execution_timezone=KST_NAME,
        description=description,
    )
    def request(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        day = scheduled_day(context)
        return [
            dg.RunRequest(run_key=f"{run_key_prefix}{year}-{day}", partition_key=year)
            for year in years(day)
        ]

    return request
