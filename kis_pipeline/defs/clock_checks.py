"""Checks judged by the clock (`<table>_fresh`): is the newest data as recent as it should be?

Freshness is about the clock, not about what a backfill of old days wrote. The in-process
`kis-pipeline backfill` leaves these checks out of its runs, but a backfill Dagster runs
(`--submit`) executes every check of its assets: there they pass with a note saying they were
not judged, and the freshness schedules judge them as before.
"""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg

from kis_pipeline.defs.resources import WarehouseResource
from kis_pipeline.lib.run_context import BACKFILL_TAG
from kis_pipeline.warehouse import Warehouse

Judge = Callable[[Warehouse], dg.AssetCheckResult]


def clock_check(
    *, asset: str | dg.AssetsDefinition, name: str, description: str
) -> Callable[[Judge], dg.AssetChecksDefinition]:
    """Decorate `judge(warehouse)` into the asset check `name` of `asset`."""

    def decorate(judge: Judge) -> dg.AssetChecksDefinition:
        @dg.asset_check(asset=asset, name=name, description=description)
        def check(
            # Unannotated: Dagster rejects a string annotation (`from __future__`).
            context,
            warehouse: WarehouseResource,
        ) -> dg.AssetCheckResult:
            return in_backfill(context) or judge(warehouse.warehouse())

        return check

    return decorate


def in_backfill(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult | None:
    """A passed result with a note in a run of a Dagster backfill; None elsewhere."""
    try:
        backfill = context.run.tags.get(BACKFILL_TAG)
    except dg.DagsterError:
        # Invoked directly (a test, a notebook): no run, no backfill.
        return None
    if backfill is None:
        return None
    return dg.AssetCheckResult(
        passed=True,
        metadata={"not_judged": f"a run of backfill {backfill}: freshness is the schedules'"},
    )
