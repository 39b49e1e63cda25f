"""Freshness is judged by the schedules, never by a backfill: a run that writes a table does
not evaluate its `*_fresh` check, whatever days it covers."""

from __future__ import annotations

import warnings
from pathlib import Path

import dagster as dg
import pytest

from kis_pipeline.cli import dagster_runner as runner
from kis_pipeline.cli.backfill_plan import date_partitioned_assets
from kis_pipeline.cli.main import main
from kis_pipeline.simulator.server import SimulatorServer
from tests.defs.seed import point_at

warnings.filterwarnings("ignore", category=dg.BetaWarning)


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    from kis_pipeline.definitions import defs

    return defs


def fresh_checks(checks: set[dg.AssetCheckKey]) -> set[str]:
    return {key.name for key in checks if key.name.endswith("_fresh")}


def test_a_backfill_of_old_overseas_days_fails_and_warns_no_check(
    fast_sim: SimulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(fast_sim, tmp_path / "wh", tmp_path / "state", monkeypatch)
    monkeypatch.chdir(tmp_path)
    span = ("--from", "2026-11-02", "--to", "2026-11-06")
    assert main(["backfill", *span, "--assets", "overseas_daily_prices"]) == 0
    out = capsys.readouterr().out
    assert "overseas_daily_prices: " in out
    assert "checks failed" not in out and "checks warned" not in out
    check = dg.AssetCheckKey(dg.AssetKey("overseas_daily_prices"), "overseas_daily_prices_fresh")
    with runner.open_instance(tmp_path / "wh" / ".dagster") as instance:
        history = instance.event_log_storage.get_asset_check_execution_history(check, limit=5)
    assert history == []


def test_every_freshness_check_is_left_to_a_freshness_schedule(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    every = fresh_checks(set(graph.asset_check_keys))
    assert {"daily_prices_fresh", "overseas_daily_prices_fresh"} <= every
    scheduled = {s.job_name for s in defs.schedules or [] if hasattr(s, "job_name")}
    on_schedule: set[str] = set()
    for job in defs.resolve_all_job_defs():
        if job.name.endswith("_freshness_job") and job.name in scheduled:
            on_schedule |= fresh_checks(set(job.asset_layer.asset_graph.asset_check_keys))
    assert on_schedule == every
    for name in date_partitioned_assets(defs):
        job = runner._job_without_freshness(defs, [dg.AssetKey(name)])
        assert not fresh_checks(set(job.asset_layer.asset_graph.asset_check_keys)), name
