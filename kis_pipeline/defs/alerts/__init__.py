"""Knowing when the nightly run failed: a run-failure sensor over every job."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from kis_pipeline.defs.alerts.notify import FailedCheck, RunFailure, notify

if TYPE_CHECKING:
    from dagster._utils.error import SerializableErrorInfo


def failure_of(context: dg.RunFailureSensorContext) -> RunFailure:
    run = context.dagster_run
    step_failures = context.get_step_failure_events()
    failed_steps = [event.step_key for event in step_failures if event.step_key is not None]
    # The step's own error says what went wrong (e.g. a KIS code); the run's only lists steps.
    errors = [
        _root_cause(event.step_failure_data.error)
        for event in step_failures
        if event.step_failure_data.error is not None
    ]
    checks: list[FailedCheck] = []
    records = context.instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    for record in records:
        event = record.event_log_entry.dagster_event
        evaluation = event.event_specific_data if event else None
        if evaluation is not None and not evaluation.passed:
            checks.append(
                FailedCheck(
                    asset=evaluation.asset_key.to_user_string(),
                    check=evaluation.check_name,
                    partition=getattr(evaluation, "partition", None),
                )
            )
    return RunFailure(
        run_id=run.run_id,
        job=run.job_name,
        error="; ".join(errors) or context.failure_event.message or "run failed",
        failed_steps=failed_steps,
        partition=run.tags.get("dagster/partition"),
        failed_checks=checks,
    )


def _root_cause(error: SerializableErrorInfo) -> str:
    # Dagster wraps the op's exception; the innermost cause carries the KIS code and message.
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Logs one line per failed run and posts it to KIS_ALERT_WEBHOOK when set.",
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext) -> None:
    notify(failure_of(context))


defs = dg.Definitions(sensors=[run_failure_alert_sensor])
