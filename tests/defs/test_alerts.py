"""A failed run is reported in one line and posted to KIS_ALERT_WEBHOOK, checks included."""

from __future__ import annotations

import logging

import dagster as dg
import pytest

from kis_pipeline.defs.alerts import run_failure_alert_sensor
from kis_pipeline.defs.alerts.notify import WEBHOOK_ENV


@dg.asset
def prices_ok() -> int:
    return 1


@dg.asset_check(asset=prices_ok)
def prices_ok_high_ge_low() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, metadata={"offending": "005930@2024-01-02"})


@dg.asset(deps=[prices_ok])
def flows_broken() -> None:
    raise RuntimeError("KIS MCA05918 on FHPTJ04160001 (FID_INPUT_ISCD=999999): no such symbol")


def failed_run_context(instance: dg.DagsterInstance) -> dg.RunFailureSensorContext:
    result = dg.materialize_to_memory(
        [prices_ok, flows_broken, prices_ok_high_ge_low], instance=instance, raise_on_error=False
    )
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    failure = (
        instance.get_records_for_run(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        .records[0]
        .event_log_entry.dagster_event
    )
    assert failure is not None
    return dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert_sensor",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=run,
    ).for_run_failure()


def test_failed_run_posts_one_message_with_the_failed_checks(
    webhook: tuple[str, list[dict[str, object]]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, received = webhook
    monkeypatch.setenv(WEBHOOK_ENV, url)
    with dg.instance_for_test() as instance, caplog.at_level(logging.ERROR):
        run_failure_alert_sensor(failed_run_context(instance))
    assert len(received) == 1
    message = received[0]
    assert message["failed_steps"] == ["flows_broken"]
    assert message["failed_checks"] == [
        {"asset": "prices_ok", "check": "prices_ok_high_ge_low", "partition": None}
    ]
    assert "MCA05918" in str(message["text"]) and "prices_ok.prices_ok_high_ge_low" in str(
        message["text"]
    )
    lines = [r.getMessage() for r in caplog.records if r.name == "kis_pipeline.defs.alerts.notify"]
    assert len(lines) == 1 and "failed in flows_broken" in lines[0]


def test_without_a_webhook_it_only_logs_and_a_dead_webhook_does_not_raise(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(WEBHOOK_ENV, raising=False)
    with dg.instance_for_test() as instance:
        context = failed_run_context(instance)
        with caplog.at_level(logging.WARNING):
            run_failure_alert_sensor(context)
            monkeypatch.setenv(WEBHOOK_ENV, "http://127.0.0.1:9/hook")
            run_failure_alert_sensor(context)
    assert any("could not post the alert" in r.getMessage() for r in caplog.records)
