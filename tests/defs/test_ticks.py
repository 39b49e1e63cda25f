"""The tick Dagster definitions: segment sensor (run_key = segment id), persistence job,
compaction asset, and the market-hours collector sensor and job."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import pytest

import kis_pipeline.streaming.tables  # noqa: F401  (registers the tick tables)
from kis_pipeline.defs import ticks
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.defs.ticks import collector as collector_defs
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.streaming.market_hours import KST
from kis_pipeline.streaming.spool import Spool
from kis_pipeline.warehouse import Warehouse
from tests.conftest import sim_environ
from tests.streaming.helpers import SegmentBuilder, frame, orderbook, trade

SESSION = {"session_id": "ses-1", "started_ns": 1, "subscriptions": 2}


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KIS_WAREHOUSE", str(tmp_path / "warehouse"))
    monkeypatch.setenv("KIS_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "warehouse"


def _segments(root: Path, count: int) -> list[str]:
    spool = Spool.for_warehouse(root)
    spool.ensure()
    ids = []
    for n in range(count):
        seg = SegmentBuilder(spool, f"seg-2026112{n}", session=SESSION)
        seg.add(frame("H0STCNT0", trade(acml=n * 10), trade(acml=n * 10 + 1)))
        seg.add(frame("H0STASP0", orderbook()))
        seg.write()
        ids.append(seg.segment_id)
    return ids


def test_the_ticks_domain_is_in_the_code_location() -> None:
    from kis_pipeline.definitions import defs

    assert defs.get_job_def("tick_segment_job") is not None
    assert defs.get_job_def("tick_collector_job") is not None
    assert defs.get_sensor_def("tick_segments_sensor") is not None
    assert defs.get_sensor_def("tick_collector_sensor") is not None
    assert defs.get_schedule_def("tick_compaction_schedule") is not None
    keys = {k.to_user_string() for k in defs.resolve_all_asset_keys()}
    assert {"trade_ticks", "orderbook_ticks", "stream_sessions", "tick_compaction"} <= keys


def test_the_sensor_requests_one_run_per_sealed_segment_keyed_by_its_id(root: Path) -> None:
    ids = _segments(root, 3)
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(
            instance=instance, resources={"warehouse": WarehouseResource()}
        )
        result = ticks.tick_segments_sensor(context)
        assert isinstance(result, dg.SensorResult)
        requests = result.run_requests or []
        assert [r.run_key for r in requests] == ids
        assert requests[0].run_config == {
            "ops": {"persist_tick_segment": {"config": {"segment_id": ids[0]}}}
        }
        assert set(json.loads(result.cursor or "{}")["requested"]) == set(ids)


def test_the_job_persists_its_segment_and_a_rerun_changes_nothing(root: Path) -> None:
    (segment_id,) = _segments(root, 1)
    run_config = {"ops": {"persist_tick_segment": {"config": {"segment_id": segment_id}}}}
    resources = {"warehouse": WarehouseResource()}
    for _ in range(2):
        result = ticks.tick_segment_job.execute_in_process(
            run_config=run_config, resources=resources
        )
        assert result.success
    warehouse = Warehouse(root)
    assert warehouse.read("trade_ticks").height == 2
    assert warehouse.read("orderbook_ticks").height == 1
    assert Spool.for_warehouse(root).done_ids() == [segment_id]
    materialized = {
        e.asset_key.to_user_string()
        for e in result.asset_materializations_for_node("persist_tick_segment")
    }
    assert materialized == {"trade_ticks", "orderbook_ticks", "stream_sessions"}


def test_compaction_merges_each_days_pieces_into_one_file(root: Path) -> None:
    ids = _segments(root, 3)
    warehouse = Warehouse(root)
    for segment_id in ids:
        ticks.tick_segment_job.execute_in_process(
            run_config={"ops": {"persist_tick_segment": {"config": {"segment_id": segment_id}}}},
            resources={"warehouse": WarehouseResource()},
        )
    assert len(warehouse.live_files("trade_ticks")) == 3
    result = dg.materialize(
        [ticks.tick_compaction],
        partition_key="2023-06-12",  # the day the test frames carry
        resources={"warehouse": WarehouseResource()},
    )
    assert result.success
    assert len(warehouse.live_files("trade_ticks")) == 1
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
