"""Upkeep: the compaction asset merges closed months of daily tables; old tick persistence runs
and sensor ticks are deleted after their retention."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest

from kis_pipeline.cli.dagster_runner import INSTANCE_CONFIG
from kis_pipeline.defs.maintenance import warehouse_maintenance
from kis_pipeline.defs.maintenance.retention import PRUNED_JOBS, prune_runs, run_retention_job
from kis_pipeline.defs.resources import WarehouseResource
from kis_pipeline.defs.ticks.persist import run_config, tick_segment_job
from kis_pipeline.warehouse import Warehouse, connect
from kis_pipeline.warehouse.maintenance import SNAPSHOT_RETENTION, file_counts, maintain
from tests.helpers.daily_prices import prices


def test_maintenance_leaves_a_file_per_year_expires_old_snapshots_and_keeps_the_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIS_WAREHOUSE", str(tmp_path))
    wh = Warehouse(tmp_path)
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(40)]
    symbols = [f"{n:06d}" for n in range(20)]  # more rows a day than DuckLake inlines
    first = wh.write_partition("daily_prices", days[0].isoformat(), prices(days[0], symbols))
    for day in days[1:]:
        wh.write_partition("daily_prices", day.isoformat(), prices(day, symbols))
    assert file_counts(wh) == {"daily_prices": 40}
    before = wh.read("daily_prices").sort("date", "symbol")
    result = dg.materialize([warehouse_maintenance], resources={"warehouse": WarehouseResource()})
    assert result.success
    assert file_counts(wh) == {"daily_prices": 1}
    assert wh.read("daily_prices").sort("date", "symbol").equals(before)
    meta = result.asset_materializations_for_node("warehouse_maintenance")[0].metadata
    assert meta["lake_snapshot"].value == wh.snapshot()
    # Snapshots within the retention stay: the first day's write can still be read as it was.
    with connect(wh, snapshot=first.snapshot) as con:
        assert con.execute("select count(*) from daily_prices").fetchone() == (len(symbols),)
    # Past the retention they expire, and the files only they needed are deleted.
    later = dt.datetime.now(dt.UTC) + SNAPSHOT_RETENTION + dt.timedelta(days=1)
    expired = maintain(wh, now=later)
    assert expired.snapshots_expired > 40 and expired.files_deleted >= 40
    assert len(list((tmp_path / "lake").rglob("*.parquet"))) == 1
    assert wh.read("daily_prices").sort("date", "symbol").equals(before)


def _tick_run(instance: dg.DagsterInstance) -> str:
    result = tick_segment_job.execute_in_process(
        run_config=run_config([]), instance=instance, resources={"warehouse": WarehouseResource()}
    )
    assert result.success
    return result.run_id


def test_retention_deletes_old_finished_tick_runs_with_their_logs_and_keeps_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIS_WAREHOUSE", str(tmp_path))
    with dg.instance_for_test() as instance:
        old = [_tick_run(instance) for _ in range(2)]
        other_job = dg.materialize(
            [warehouse_maintenance], instance=instance, resources={"warehouse": WarehouseResource()}
        ).run_id
        running = instance.create_run_for_job(
            tick_segment_job, run_config=run_config([]), status=dg.DagsterRunStatus.STARTED
        ).run_id
        record = instance.get_run_record_by_id(old[-1])
        assert record is not None
        # Run timestamps have whole seconds: the recent run is created in a later one.
        cutoff = record.create_timestamp + dt.timedelta(seconds=1)
        while dt.datetime.now(dt.UTC) < cutoff:
            time.sleep(0.05)
        recent = _tick_run(instance)
        event_log = Path(instance.event_log_storage.path_for_shard(old[0]))  # type: ignore[attr-defined]
        assert event_log.exists()

        assert sorted(prune_runs(instance, PRUNED_JOBS, cutoff)) == sorted(old)

        assert not event_log.exists()
        assert {run.run_id for run in instance.get_runs()} == {other_job, running, recent}
        assert instance.all_logs(recent)


def test_the_retention_job_prunes_tick_runs_older_than_its_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIS_WAREHOUSE", str(tmp_path))
    with dg.instance_for_test() as instance:
        tick_run = _tick_run(instance)
        kept = run_retention_job.execute_in_process(instance=instance)  # default: 7 days
        assert kept.success and instance.get_run_by_id(tick_run) is not None
        pruned = run_retention_job.execute_in_process(
            instance=instance,
            run_config={"ops": {"prune_run_history": {"config": {"older_than_days": 0}}}},
        )
        assert pruned.success and instance.get_run_by_id(tick_run) is None


def test_the_instance_purges_skipped_sensor_ticks_after_a_day(tmp_path: Path) -> None:
    from dagster._core.definitions.run_request import InstigatorType
    from dagster._core.scheduler.instigation import TickStatus

    shutil.copyfile(INSTANCE_CONFIG, tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        sensor = instance.get_tick_retention_settings(InstigatorType.SENSOR)
        schedule = instance.get_tick_retention_settings(InstigatorType.SCHEDULE)
    assert sensor[TickStatus.SKIPPED] == 1
    assert sensor[TickStatus.SUCCESS] == 7
    assert all(days > 0 for days in (*sensor.values(), *schedule.values()))
