"""The tick Dagster definitions: the segment sensor (one run per batch, run key = the segment
range, backlog alert), the persistence job, the compaction asset, and the market-hours
collector sensor and job."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from pathlib import Path

import dagster as dg
import pytest

import kis_pipeline.streaming.tables  # noqa: F401  (registers the tick tables)
from kis_pipeline.common.clock import KST
from kis_pipeline.defs import ticks
from kis_pipeline.defs.alerts.notify import WEBHOOK_ENV
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.defs.ticks import collector as collector_defs
from kis_pipeline.defs.ticks import persist
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.streaming.promote import promote_segment
from kis_pipeline.streaming.spool import Spool
from kis_pipeline.warehouse import Warehouse, connect
from tests.helpers.simulator import sim_environ
from tests.streaming.helpers import SegmentBuilder, frame, orderbook, trade

SESSION = {"session_id": "ses-1", "started_ns": 1, "subscriptions": 2}


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KIS_WAREHOUSE", str(tmp_path / "warehouse"))
    monkeypatch.setenv("KIS_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "warehouse"


def _write_segment(spool: Spool, segment_id: str, n: int) -> None:
    seg = SegmentBuilder(spool, segment_id, session=SESSION)
    seg.add(frame("H0STCNT0", trade(acml=n * 10), trade(acml=n * 10 + 1)))
    seg.add(frame("H0STASP0", orderbook()))
    seg.write()


def _segments(root: Path, count: int, start: int = 0) -> list[str]:
    """`count` sealed segments of 3 tick rows each (2 trades, 1 order book), ids in order."""
    spool = Spool.for_warehouse(root)
    spool.ensure()
    ids = [f"seg-20261120T0900{n:02d}" for n in range(start, start + count)]
    for n, segment_id in enumerate(ids, start):
        _write_segment(spool, segment_id, n)
    return ids


def _sense(instance: dg.DagsterInstance, cursor: str | None = None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"warehouse": WarehouseResource()}
    )
    result = ticks.tick_segments_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def _launch(instance: dg.DagsterInstance, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    """Run a requested batch as the daemon would, recorded with its run key and tags."""
    return ticks.tick_segment_job.execute_in_process(
        run_config=request.run_config,
        instance=instance,
        tags={**request.tags, "dagster/run_key": request.run_key or ""},
        resources={"warehouse": WarehouseResource()},
        raise_on_error=False,
    )


def _rows_per_segment(root: Path) -> dict[str, int]:
    """Tick rows per segment as a DuckDB reader of the catalog sees them."""
    con = connect(Warehouse(root))
    try:
        rows = con.execute(
            "select segment_id, count(*) from (select segment_id from trade_ticks "
            "union all select segment_id from orderbook_ticks) group by 1"
        ).fetchall()
    finally:
        con.close()
    return dict(rows)


def _segment_ids(request: dg.RunRequest) -> list[str]:
    return request.run_config["ops"]["persist_tick_segments"]["config"]["segment_ids"]


def test_the_ticks_domain_is_in_the_code_location() -> None:
    from kis_pipeline.definitions import defs

    assert defs.get_job_def("tick_segment_job") is not None
    assert defs.get_job_def("tick_collector_job") is not None
    assert defs.get_sensor_def("tick_segments_sensor") is not None
    assert defs.get_sensor_def("tick_collector_sensor") is not None
    assert defs.get_schedule_def("warehouse_maintenance_schedule") is not None
    keys = {k.to_user_string() for k in defs.resolve_all_asset_keys()}
    assert {"trade_ticks", "orderbook_ticks", "stream_sessions", "warehouse_maintenance"} <= keys


def test_the_sensor_requests_one_run_for_every_waiting_segment_keyed_by_their_range(
    root: Path,
) -> None:
    ids = _segments(root, 3)
    with dg.instance_for_test() as instance:
        result = _sense(instance)
        (request,) = result.run_requests or []
        assert request.run_key == f"{ids[0]}..{ids[-1]}"
        assert _segment_ids(request) == ids
        # Its runs leave the run queue before backfill runs queued earlier.
        assert int(ticks.tick_segment_job.tags["dagster/priority"]) > 0
        # Requested segments are not requested again; newer ones make the next batch.
        assert not _sense(instance, result.cursor).run_requests
        more = _segments(root, 2, start=3)
        (following,) = _sense(instance, result.cursor).run_requests or []
        assert following.run_key == f"{more[0]}..{more[-1]}"
        assert _segment_ids(following) == more


def test_no_new_batch_is_requested_while_a_persistence_run_is_in_progress(root: Path) -> None:
    ids = _segments(root, 3)
    with dg.instance_for_test() as instance:
        running = instance.create_run_for_job(
            ticks.tick_segment_job,
            run_config=persist.run_config([]),
            status=dg.DagsterRunStatus.STARTED,
        )
        waiting = _sense(instance)
        assert not waiting.run_requests
        assert "3 sealed segment(s) wait" in str(waiting.skip_reason)
        instance.report_run_canceled(running)
        (request,) = _sense(instance, waiting.cursor).run_requests or []
        assert _segment_ids(request) == ids


def test_a_trading_hour_takes_one_run_per_interval_and_each_segment_once(root: Path) -> None:
    spool = Spool.for_warehouse(root)
    spool.ensure()
    per_interval = persist.PERSIST_INTERVAL_S // 5  # the collector seals every 5 s
    evaluations = 3600 // persist.PERSIST_INTERVAL_S
    requested: list[str] = []
    runs = 0
    cursor = None
    with dg.instance_for_test() as instance:
        for n in range(evaluations):
            for k in range(per_interval):
                (spool.sealed_dir / f"seg-{n:04d}-{k:03d}.seg").write_bytes(b"")
            result = _sense(instance, cursor)
            cursor = result.cursor
            for request in result.run_requests or []:
                runs += 1
                for segment_id in _segment_ids(request):
                    requested.append(segment_id)
                    spool.mark_done(segment_id)  # the run succeeded
    assert runs == evaluations  # 6.5 hours: 6.5 x this, a few hundred
    assert runs * 6.5 <= 500
    assert sorted(requested) == sorted(set(requested)) == spool.done_ids()
    assert len(requested) == evaluations * per_interval


def test_every_segment_lands_exactly_once_across_batches_reruns_and_a_failed_batch(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = Spool.for_warehouse(root)
    first = _segments(root, 3)
    with dg.instance_for_test() as instance:
        sensed = _sense(instance)
        (batch,) = sensed.run_requests or []
        # An earlier attempt was killed after writing the first segment of the batch.
        promote_segment(Warehouse(root), spool, first[0], move=False)
        assert _launch(instance, batch).success
        # The next batch fails midway: its second segment is damaged on disk.
        second = _segments(root, 3, start=3)
        damaged = spool.sealed_dir / f"{second[1]}.seg"
        damaged.write_bytes(damaged.read_bytes()[:-7])
        sensed = _sense(instance, sensed.cursor)
        (failing,) = sensed.run_requests or []
        outcome = _launch(instance, failing)
        assert not outcome.success
        assert spool.sealed_ids() == [second[1]]
        (failure,) = outcome.get_step_failure_events()
        error = failure.step_failure_data.error
        assert error is not None and "1 of 3 segment(s) could not be persisted" in error.message
        # Not retried at once; a minute later the failed batch is, with what it left sealed.
        sensed = _sense(instance, sensed.cursor)
        assert not sensed.run_requests
        later = time.time() + persist.CHECK_AFTER_S + 1
        monkeypatch.setattr(persist, "_clock", lambda: later)
        damaged.unlink()
        _write_segment(spool, second[1], 4)  # the same segment, repaired
        (retry,) = _sense(instance, sensed.cursor).run_requests or []
        assert retry.run_key == f"{failing.run_key}:retry1"
        assert _segment_ids(retry) == [second[1]]
        assert _launch(instance, retry).success
        # A rerun of a whole batch (e.g. from the UI) rewrites the same rows.
        assert _launch(instance, batch).success
    assert _rows_per_segment(root) == {segment_id: 3 for segment_id in first + second}
    assert spool.sealed_ids() == []
    assert spool.done_ids() == first + second


def test_the_job_persists_its_batch_and_a_rerun_changes_nothing(root: Path) -> None:
    ids = _segments(root, 2)
    for _ in range(2):
        result = ticks.tick_segment_job.execute_in_process(
            run_config=persist.run_config(ids), resources={"warehouse": WarehouseResource()}
        )
        assert result.success
    warehouse = Warehouse(root)
    assert warehouse.read("trade_ticks").height == 4
    assert warehouse.read("orderbook_ticks").height == 2
    assert Spool.for_warehouse(root).done_ids() == ids
    materialized = {
        e.asset_key.to_user_string()
        for e in result.asset_materializations_for_node("persist_tick_segments")
    }
    assert materialized == {"trade_ticks", "orderbook_ticks", "stream_sessions"}


def test_a_growing_backlog_is_alerted_once_then_again_if_it_lasts(
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    webhook: tuple[str, list[dict[str, object]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, received = webhook
    monkeypatch.setenv(WEBHOOK_ENV, url)
    monkeypatch.setenv(persist.BACKLOG_ENV, "3")
    _segments(root, 3)
    with dg.instance_for_test() as instance, caplog.at_level(logging.WARNING):
        cursor = _sense(instance).cursor
        assert received == []  # at the threshold, not past it
        _segments(root, 1, start=3)
        cursor = _sense(instance, cursor).cursor
        assert len(received) == 1
        assert received[0]["alert"] == "tick_backlog" and received[0]["segments"] == 4
        assert "tick persistence is behind: 4 sealed segment(s)" in str(received[0]["text"])
        assert any("tick persistence is behind" in r.getMessage() for r in caplog.records)
        cursor = _sense(instance, cursor).cursor
        assert len(received) == 1  # not on every evaluation
        later = time.time() + persist.ALERT_REPEAT_S + 1
        monkeypatch.setattr(persist, "_clock", lambda: later)
        _sense(instance, cursor)
        assert len(received) == 2


def test_maintenance_merges_each_days_pieces_into_one_file(root: Path) -> None:
    from kis_pipeline.defs.maintenance import warehouse_maintenance
    from kis_pipeline.warehouse import connect
    from kis_pipeline.warehouse.maintenance import file_counts

    ids = _segments(root, 3)
    warehouse = Warehouse(root)
    run = ticks.tick_segment_job.execute_in_process(
        run_config=persist.run_config(ids), resources={"warehouse": WarehouseResource()}
    )
    # One transaction for the batch: the run names the snapshot that holds its segments.
    (materialization,) = [
        m
        for m in run.asset_materializations_for_node("persist_tick_segments")
        if m.asset_key == dg.AssetKey("trade_ticks")
    ]
    snapshot = materialization.metadata["lake_snapshot"].value
    with connect(warehouse, snapshot=snapshot) as con:
        assert con.execute("select count(*) from trade_ticks").fetchone() == (6,)
    result = dg.materialize([warehouse_maintenance], resources={"warehouse": WarehouseResource()})
    assert result.success
    assert file_counts(warehouse)["trade_ticks"] == 1
    assert warehouse.read("trade_ticks").height == 6
    assert warehouse.read("trade_ticks")["cum_volume"].is_sorted()


def test_the_collector_sensor_runs_on_trading_days_inside_the_window(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def at(text: str) -> None:
        moment = dt.datetime.fromisoformat(text).replace(tzinfo=KST)
        monkeypatch.setattr(collector_defs, "_now", lambda: moment)

    with dg.instance_for_test() as instance:

        def evaluate(cursor: str | None) -> dg.SensorResult | dg.SkipReason:
            context = dg.build_sensor_context(
                instance=instance, cursor=cursor, resources={"warehouse": WarehouseResource()}
            )
            return ticks.tick_collector_sensor(context)  # type: ignore[return-value]

        at("2026-11-21T10:00")  # a Saturday
        assert isinstance(evaluate(None), dg.SkipReason)
        at("2026-11-20T16:00")  # after the window
        skipped = evaluate(None)
        assert isinstance(skipped, dg.SkipReason) and "2026-11-23 08:30" in str(
            skipped.skip_message
        )
        at("2026-11-20T09:00")
        started = evaluate(None)
        assert isinstance(started, dg.SensorResult)
        assert [r.run_key for r in started.run_requests or []] == ["collector-2026-11-20-1"]
        # Not again within five minutes, and never more than MAX_RUNS_PER_DAY a day.
        assert isinstance(evaluate(started.cursor), dg.SkipReason)
        capped = json.dumps(
            {"day": "2026-11-20", "runs": collector_defs.MAX_RUNS_PER_DAY, "last": 0}
        )
        assert isinstance(evaluate(capped), dg.SkipReason)
        # Nextrade's feeds: its evening is inside the window.
        monkeypatch.setenv("KIS_VENUE", "NXT")
        at("2026-11-20T19:00")
        evening = evaluate(None)
        assert isinstance(evening, dg.SensorResult)
        assert [r.run_key for r in evening.run_requests or []] == ["collector-2026-11-20-1"]


def test_the_collector_job_streams_for_its_duration(
    sim_server: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = sim_environ(sim_server, tmp_path / "state", KIS_WAREHOUSE=str(tmp_path / "wh"))
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    symbol = sim_server.state.market.listings[0].symbol
    result = ticks.tick_collector_job.execute_in_process(
        run_config={
            "ops": {
                "run_tick_collector": {
                    "config": {
                        "duration_s": 1.0,
                        "symbols": [symbol],
                        "seal_interval_s": 0.2,
                        "persist": True,
                    }
                }
            }
        },
        resources={"kis": KisResource(), "warehouse": WarehouseResource()},
    )
    assert result.success
    warehouse = Warehouse(KisSettings.from_env(environ).warehouse)
    assert warehouse.read("trade_ticks").height > 0
    assert warehouse.read("stream_sessions")["reason"].to_list() == ["stopped: duration"]
