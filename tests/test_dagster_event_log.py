"""The backfill's event log writes what Dagster's own SQLite event log writes: a default
instance over the same files (the UI's, `dagster dev`'s) reads the same runs, materialized and
failed partitions, and check executions as an instance that wrote them with Dagster's storage."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from kis_pipeline.cli import dagster_runner as runner
from kis_pipeline.lib.dagster_event_log import FastSqliteEventLogStorage

warnings.filterwarnings("ignore", category=dg.BetaWarning)

DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-03-01")
FAIL_TAG = "test/fail"


@dg.asset(
    partitions_def=DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[dg.AssetCheckSpec("counted", asset="numbers")],
)
def numbers(context) -> dg.MaterializeResult:  # type: ignore[no-untyped-def]
    return dg.MaterializeResult(
        metadata={"days": len(context.partition_keys)},
        check_results=[dg.AssetCheckResult(check_name="counted", passed=True)],
    )


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run(), deps=[numbers])
def doubled(context) -> None:  # type: ignore[no-untyped-def]
    if context.run.tags.get(FAIL_TAG):
        raise dg.Failure("failing on purpose")


DEFS = dg.Definitions(assets=[numbers, doubled])
KEYS = (dg.AssetKey("numbers"), dg.AssetKey("doubled"))


def _home(tmp_path: Path, name: str) -> Path:
    home = tmp_path / name
    home.mkdir()
    shutil.copyfile(runner.INSTANCE_CONFIG, home / "dagster.yaml")
    return home


def _backfill(instance: dg.DagsterInstance) -> None:
    first = [f"2024-01-{d:02d}" for d in range(1, 21)]
    second = [f"2024-02-{d:02d}" for d in range(1, 11)]
    assert runner.execute(DEFS, instance, runner.RunSpec(KEYS, tuple(first), True)).success
    failing = runner.execute(
        DEFS, instance, runner.RunSpec(KEYS, tuple(second), True), tags={FAIL_TAG: "1"}
    )
    assert not failing.success


def _what_the_ui_reads(instance: dg.DagsterInstance) -> dict[str, Any]:
    storage = instance.event_log_storage
    check = dg.AssetCheckKey(KEYS[0], "counted")
    out: dict[str, Any] = {
        "runs": sorted(str(r.status) for r in instance.get_runs()),
        "checks": sorted(
            (str(r.status), r.partition)
            for r in storage.get_asset_check_execution_history(check, limit=1000)
        ),
    }
    newest_run = instance.get_runs(limit=1)[0].run_id
    for key in KEYS:
        name = key.to_user_string()
        latest = instance.get_latest_materialization_event(key)
        # The asset's row in the index, which the asset pages read first.
        entry = instance.get_asset_records([key])[0].asset_entry
        last = entry.last_materialization
        out[name] = {
            "record": (
                last.dagster_event.partition if last and last.dagster_event else None,
                entry.last_run_id == newest_run,
            ),
            "materialized": sorted(instance.get_materialized_partitions(key)),
            "failed_or_in_flight": sorted(
                storage.get_latest_asset_partition_materialization_attempts_without_materializations(
                    key
                )
            ),
            "latest": latest.dagster_event.partition if latest and latest.dagster_event else None,
            "planned": len(
                storage.get_event_records(
                    dg.EventRecordsFilter(dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, key),
                    limit=1000,
                )
            ),
        }
    return out


def test_a_default_instance_reads_what_the_backfill_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    reference = _home(tmp_path, "reference")
    with dg.DagsterInstance.from_config(str(reference)) as instance:
        _backfill(instance)
        expected = _what_the_ui_reads(instance)

    ours = _home(tmp_path, "ours")
    with runner.open_instance(ours) as instance:
        assert isinstance(instance.event_log_storage, FastSqliteEventLogStorage)
        _backfill(instance)
        assert _what_the_ui_reads(instance) == expected
    with dg.DagsterInstance.from_config(str(ours)) as instance:
        assert not isinstance(instance.event_log_storage, FastSqliteEventLogStorage)
        assert _what_the_ui_reads(instance) == expected

    assert expected["numbers"]["materialized"] == [f"2024-01-{d:02d}" for d in range(1, 21)] + [
        f"2024-02-{d:02d}" for d in range(1, 11)
    ]
    assert expected["doubled"]["failed_or_in_flight"] == [f"2024-02-{d:02d}" for d in range(1, 11)]
    assert expected["doubled"]["planned"] == 30
