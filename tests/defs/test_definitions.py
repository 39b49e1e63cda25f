"""The code location loads, and the public surface of the prices domain is exactly what the
product documents. Other domains are checked only for the conventions every domain follows,
so that adding one does not break this file."""

from __future__ import annotations

import warnings

import dagster as dg
import pytest

from kis_pipeline.lib.partitions import overseas_days, trading_days
from kis_pipeline.lib.run_context import POOL
from kis_pipeline.warehouse import TABLES

warnings.filterwarnings("ignore", category=dg.BetaWarning)

PRICE_ASSETS = {
    "daily_prices": trading_days,
    "daily_prices_adjusted": trading_days,
    "overseas_daily_prices": overseas_days,
}
PRICE_CHECKS = {
    "daily_prices": {"ohlc_consistent", "unique_keys", "complete", "fresh", "no_rejects"},
    "daily_prices_adjusted": {
        "ohlc_consistent",
        "unique_keys",
        "complete",
        "fresh",
        "adj_factor_continuous",
        "no_rejects",
    },
    "overseas_daily_prices": {"ohlc_consistent", "unique_keys", "complete", "fresh"},
}


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    from kis_pipeline.definitions import defs

    return defs


def test_every_domain_loads_and_follows_the_conventions(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    materializable = graph.materializable_asset_keys
    assert materializable, "no assets loaded"
    for key in materializable:
        node = graph.get(key)
        assert node.group_name and node.group_name != "default", key
        if key.to_user_string() in TABLES:
            # Asset = table, and its description starts with the grain.
            assert (node.description or "").startswith("One row per"), key
    for check in graph.asset_check_keys:
        # <table>_<property>
        assert check.name.startswith(f"{check.asset_key.to_user_string()}_"), check
    for job in defs.jobs or []:
        assert getattr(job, "name", "").endswith("_job"), job
    for schedule in defs.schedules or []:
        assert schedule.name.endswith("_schedule"), schedule.name
    defs.resolve_implicit_global_asset_job_def()


def test_a_tables_gates_are_exactly_its_blocking_checks(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    gated = {name: spec.gates for name, spec in TABLES.items() if spec.gates}
    # The tables the quality gates were declared for, at least.
    assert {"daily_prices", "index_daily", "investor_flows", "symbols"} <= set(gated)
    for table, gates in gated.items():
        specs = graph.assets_def_for_key(dg.AssetKey(table)).check_specs
        blocking = {s.name for s in specs if s.blocking}
        assert blocking == {f"{table}_{gate}" for gate in gates}, table


def test_the_prices_domain_exactly(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    prices = {
        k.to_user_string()
        for k in graph.materializable_asset_keys
        if graph.get(k).group_name == "prices"
    }
    assert prices == set(PRICE_ASSETS)
    for name, partitions_def in PRICE_ASSETS.items():
        node = graph.get(dg.AssetKey(name))
        assert node.partitions_def == partitions_def, name
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), name
        assert node.pools == {POOL}, name
        assert (node.description or "").startswith("One row per ("), name
        checks = {c.name for c in node.check_keys}
        assert checks == {f"{name}_{prop}" for prop in PRICE_CHECKS[name]}, name
    raw = graph.get(dg.AssetKey("daily_prices"))
    assert {k.to_user_string() for k in raw.parent_keys} == {
        "symbols",
        "trading_calendar",
        "listings",
    }
    adjusted = graph.get(dg.AssetKey("daily_prices_adjusted"))
    assert dg.AssetKey("daily_prices") in adjusted.parent_keys

    daily_job = defs.resolve_job_def("daily_prices_job")
    assert {k.to_user_string() for k in daily_job.asset_layer.selected_asset_keys} == {
        "daily_prices",
        "daily_prices_adjusted",
    }
    schedules = {s.name: s for s in defs.schedules or []}
    assert schedules["daily_prices_schedule"].cron_schedule == "30 18 * * 1-5"
    assert schedules["daily_prices_schedule"].execution_timezone == "Asia/Seoul"
    assert schedules["overseas_daily_prices_schedule"].cron_schedule == "0 22 * * 1-5"


def test_the_nightly_schedule_asks_for_the_days_partition(defs: dg.Definitions) -> None:
    import datetime as dt
    import zoneinfo

    schedule = {s.name: s for s in defs.schedules or []}["daily_prices_schedule"]
    when = dt.datetime(2026, 11, 20, 18, 30, tzinfo=zoneinfo.ZoneInfo("Asia/Seoul"))
    context = dg.build_schedule_context(
        scheduled_execution_time=when, repository_def=defs.get_repository_def()
    )
    request = schedule.evaluate_tick(context).run_requests[0]
    assert request.partition_key == "2026-11-20"
