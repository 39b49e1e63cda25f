"""Run history retention: finished tick persistence runs are deleted after a few days.

A trading day leaves about 400 `tick_segment_job` runs. Kept forever, their run records, event
logs (one sqlite file per run) and captured output would grow DAGSTER_HOME without end and slow
the UI's run list, while nothing depends on them: the warehouse holds the rows, and a deleted
run only takes its materialization events out of the tick assets' history. So every morning
`run_retention_job` deletes the finished (succeeded, failed or canceled) runs of PRUNED_JOBS
created more than `KIS_RUN_RETENTION_DAYS` days ago (default 7), with their event logs and
captured output. Runs of other jobs (backfills, nightly runs) are few and are kept: their
materializations are what the UI's partition status and `backfill --missing` read.

Sensor and schedule ticks have their own retention in dagster.yaml (`retention:`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import dagster as dg

from kis_pipeline.common.clock import KST_NAME
from kis_pipeline.lib.run_context import env_number

RETENTION_ENV = "KIS_RUN_RETENTION_DAYS"
RETENTION_DAYS = env_number(RETENTION_ENV, 7, minimum=1)
PRUNED_JOBS = ("tick_segment_job",)
_FINISHED = [
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
]
_PAGE = 500


def prune_runs(
    instance: dg.DagsterInstance, job_names: Sequence[str], before: dt.datetime
) -> list[str]:
    """Delete the finished runs of `job_names` created before `before`; returns their ids."""
    # Dagster compares the cutoff with its stored UTC timestamps as it is, without converting.
    before = before.astimezone(dt.UTC)
    deleted: list[str] = []
    for job_name in job_names:
        while True:
            records = instance.get_run_records(
                filters=dg.RunsFilter(job_name=job_name, statuses=_FINISHED, created_before=before),
                limit=_PAGE,
            )
            for record in records:
                run_id = record.dagster_run.run_id
                instance.delete_run(run_id)
                _delete_run_files(instance, run_id)
                deleted.append(run_id)
            if len(records) < _PAGE:
                break
    return deleted


def _delete_run_files(instance: dg.DagsterInstance, run_id: str) -> None:
    # `delete_run` empties the run's event log but leaves the files themselves: the sqlite
    # storage's per-run database and the captured stdout/stderr.
    instance.compute_log_manager.delete_logs(prefix=[run_id])
    shard = getattr(instance.event_log_storage, "path_for_shard", None)
    if shard is not None:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{shard(run_id)}{suffix}").unlink()


@dg.op(
    config_schema={
        "older_than_days": dg.Field(
            float,
            default_value=RETENTION_DAYS,
            description=f"Keep runs younger than this (default: {RETENTION_ENV}, else 7).",
        )
    },
    description="Delete finished tick persistence runs older than the retention.",
)
def prune_run_history(context) -> None:
    days = float(context.op_config["older_than_days"])
    before = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    deleted = prune_runs(context.instance, PRUNED_JOBS, before)
    context.log.info(
        f"deleted {len(deleted)} finished run(s) of {', '.join(PRUNED_JOBS)} older than "
        f"{days:g} day(s)"
    )


@dg.job(description="Run history retention (see kis_pipeline/defs/maintenance/retention.py).")
def run_retention_job() -> None:
    prune_run_history()


run_retention_schedule = dg.ScheduleDefinition(
    name="run_retention_schedule",
    job=run_retention_job,
    cron_schedule="30 5 * * *",
    execution_timezone=KST_NAME,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every morning before the market opens: delete old tick persistence runs.",
)
