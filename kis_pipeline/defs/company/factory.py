"""The asset factory of the per-symbol snapshots KIS serves only as they stand today (stock
info, analyst opinions, analyst estimates): from one `SnapshotAsset` declaration, the asset,
its checks, its freshness check, its job and its schedule.

A run stamps its rows `as_of` = the run date (KST) and writes them as that day's partition,
so every refresh stays visible point in time and a rerun the same day replaces it; the asset
is not partitioned in Dagster, since a past as_of cannot be fetched. One call per symbol of
the run's universe (`ingest.company`), stated as `calls_planned` in the metadata beside the
`calls` made. A run limited to some symbols (`KIS_SYMBOLS`, a `kis/symbols` tag) replaces
only their rows; a symbol KIS rejects keeps what it had and fails the run once the others are
written; a record that breaks the table's rules is never stored: it lands in `rest_rejects`
and fails `<table>_no_rejects`. In `paper` the asset is skipped with its reason (SPEC §16).

Checks: `<table>_unique_keys` and `<table>_no_rejects` (gates), `<table>_complete` where every
symbol must have rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import dagster as dg
import polars as pl

from kis_pipeline.common.clock import today_kst
from kis_pipeline.defs.calendar.writing import (
    fail_rejected,
    run_metadata,
    skipped_in_paper,
    write_one,
)
from kis_pipeline.defs.fundamentals.statements import statement_fresh
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.ingest.company import (
    SnapshotFetch,
    fetch_snapshots,
    known_symbols,
    listed_symbols,
    previous_as_of,
)
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints._base import Endpoint
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.lib.quality import (
    COMPLETE,
    check_spec,
    completeness_severity,
    no_rejects_result,
    no_rejects_spec,
    unique_keys_result,
)
from kis_pipeline.lib.run_context import POOL, selected_symbols
from kis_pipeline.lib.schedules import asset_job, today_schedule
from kis_pipeline.warehouse import TABLES, Scope
from kis_pipeline.warehouse.lookups import MissingReference

GROUP = "company"


@dataclass(frozen=True)
class SnapshotAsset:
    """One family as an asset: its endpoint (name, TR_ID, SPEC section), the fetch of one
    symbol, when it runs (`cron`, Asia/Seoul) and how old its newest snapshot may be;
    `universe` "known" keeps asking about delisted names (`ingest.company`); `complete`: every
    symbol of the run must have rows."""

    endpoint: Endpoint
    fetch: SnapshotFetch
    cron: str
    fresh_days: int
    title: str
    universe: Literal["listed", "known"] = "listed"
    complete: bool = False

    @property
    def table(self) -> str:
        rows = self.endpoint.rows
        assert rows is not None, f"{self.endpoint.where()} declares no RecordSpec"
        return rows.table


@dataclass(frozen=True)
class SnapshotDefinitions:
    asset: dg.AssetsDefinition
    freshness: dg.AssetChecksDefinition
    job: dg.UnresolvedAssetJobDefinition
    schedule: dg.ScheduleDefinition


def check_specs(declared: SnapshotAsset) -> list[dg.AssetCheckSpec]:
    table = declared.table
    key = ", ".join(TABLES[table].key)
    specs = [check_spec(table, "unique_keys", f"No ({key}) twice."), no_rejects_spec(table)]
    if declared.complete:
        specs.append(check_spec(table, COMPLETE, "Every symbol of the run has a row."))
    return specs


def check_results(
    context: dg.AssetExecutionContext,
    declared: SnapshotAsset,
    frame: pl.DataFrame,
    symbols: list[str],
    failures: dict[str, str],
    client: KisClient | None,
) -> list[dg.AssetCheckResult]:
    table = declared.table
    results = [unique_keys_result(table, frame), no_rejects_result(context, table, client)]
    if declared.complete:
        covered = set(frame["symbol"].to_list())
        missing = [s for s in symbols if s not in covered]
        results.append(
            dg.AssetCheckResult(
                check_name=f"{table}_{COMPLETE}",
                passed=not missing,
                severity=completeness_severity(context),
                metadata=check_metadata(missing, symbols=len(symbols), failures=failures),
            )
        )
    return results


def build_asset(declared: SnapshotAsset) -> dg.AssetsDefinition:
    table = declared.table
    endpoint = declared.endpoint
    specs = check_specs(declared)

    @dg.asset(
        name=table,
        group_name=GROUP,
        deps=[dg.AssetDep("symbols")],
        pool=POOL,
        kinds={"parquet"},
        metadata={"kis/source": f"SPEC {endpoint.section} {endpoint.tr_id}"},
        freshness_policy=dg.FreshnessPolicy.time_window(
            fail_window=dt.timedelta(days=declared.fresh_days)
        ),
        description=(
            f"{TABLES[table].description} As KIS showed them on as_of ({endpoint.name}, SPEC "
            f"{endpoint.section}); one call per symbol."
        ),
        check_specs=specs,
    )
    def snapshot_asset(
        # `context` stays unannotated: Dagster rejects the string annotation that
        # `from __future__ import annotations` would make of it.
        context,
        kis: KisResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        checks = [spec.name for spec in specs]
        paper = skipped_in_paper(context, kis.settings().env, table, endpoint.name, checks)
        if paper is not None:
            return paper
        wh = warehouse.warehouse()
        as_of = today_kst()
        only = selected_symbols(context, kis.settings().symbols)
        try:
            if declared.universe == "known":
                symbols = known_symbols(wh, table, as_of, only)
            else:
                symbols = listed_symbols(wh, as_of, only)
        except MissingReference as exc:
            raise dg.Failure(f"{table}: {exc}") from None
        since = previous_as_of(wh, table, as_of)
        with kis.client() as client:
            frame, failures = fetch_snapshots(client, table, declared.fetch, symbols, as_of, since)
        results = check_results(context, declared, frame, symbols, failures, client)
        scope = Scope.of(only, keep=failures)
        written = write_one(wh, table, as_of.isoformat(), frame, scope=scope)
        fail_rejected(table, failures, "symbols")
        return dg.MaterializeResult(
            metadata=run_metadata(
                frame,
                written,
                client,
                as_of=as_of.isoformat(),
                symbols=len(symbols),
                calls_planned=len(symbols),
            ),
            check_results=results,
        )

    return snapshot_asset


def build(declared: SnapshotAsset) -> SnapshotDefinitions:
    """The asset, `<table>_fresh`, and `<table>_job` on `<table>_schedule` (one run a tick,
    run key `<table>-<day>`)."""
    asset = build_asset(declared)
    table = declared.table
    job = asset_job(asset, f"The {declared.title} of the universe as KIS shows them today.")

    schedule = today_schedule(
        f"{table}_schedule",
        job,
        cron=declared.cron,
        description=f"Refresh the {declared.title} (as_of = the day of the tick).",
    )
    freshness = statement_fresh(table, declared.fresh_days)
    return SnapshotDefinitions(asset, freshness, job, schedule)
