"""Quality gates: which checks of a table stop its run, and the checks every table shares.

A table declares its gates in its `TableSpec` (`warehouse.tables`, `gates`); `check_spec`
turns each of a table's checks into an `AssetCheckSpec` that is blocking exactly when the check
is a gate, so a failed gate fails the run that wrote the table and stops what depends on it.

Missing rows and rejected records are gates that a person may waive for one run: the run tag
`kis/allow_incomplete` (set by `kis-pipeline backfill --allow-incomplete`) turns the
`complete` and `no_rejects` results into warnings, which do not block. The rows that were
written stay written either way, and the rejects stay in `rest_rejects`.
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from kis_pipeline.kis.client import KisClient
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.lib.run_context import ALLOW_INCOMPLETE_TAG
from kis_pipeline.warehouse import TABLES

COMPLETE = "complete"
NO_REJECTS = "no_rejects"
NO_REJECTS_DESCRIPTION = (
    "Every record KIS sent for the table in this run was stored: none broke the table's rules "
    "(see rest_rejects)."
)
_REJECT_COLUMNS = {"symbol": pl.String, "date": pl.Date, "field": pl.String, "reason": pl.String}


def check_spec(table: str, prop: str, description: str) -> dg.AssetCheckSpec:
    """`<table>_<prop>`, blocking when `prop` is one of the table's gates."""
    return dg.AssetCheckSpec(
        name=f"{table}_{prop}",
        asset=table,
        description=description,
        blocking=prop in TABLES[table].gates,
    )


def no_rejects_spec(table: str) -> dg.AssetCheckSpec:
    return check_spec(table, NO_REJECTS, NO_REJECTS_DESCRIPTION)


def incomplete_allowed(context: dg.AssetExecutionContext) -> bool:
    return context.run.tags.get(ALLOW_INCOMPLETE_TAG, "") == "true"


def completeness_severity(context: dg.AssetExecutionContext) -> dg.AssetCheckSeverity:
    """ERROR (a gate) unless the run was told to accept missing rows."""
    if incomplete_allowed(context):
        return dg.AssetCheckSeverity.WARN
    return dg.AssetCheckSeverity.ERROR


def unique_keys_result(table: str, frame: pl.DataFrame) -> dg.AssetCheckResult:
    """`<table>_unique_keys` over `frame`: the rows whose table key occurs twice."""
    key = list(TABLES[table].key)
    dupes = frame.filter(frame.select(key).is_duplicated()).select(key)
    return dg.AssetCheckResult(
        check_name=f"{table}_unique_keys", passed=dupes.is_empty(), metadata=check_metadata(dupes)
    )


def no_rejects_result(
    context: dg.AssetExecutionContext, table: str, client: KisClient | None
) -> dg.AssetCheckResult:
    """`<table>_no_rejects` over what `client` refused for `table` (None: nothing fetched)."""
    rejects = client.rejects.records(table=table) if client is not None else []
    offending = pl.DataFrame(
        [(r.symbol, r.date, r.field, r.reason) for r in rejects],
        schema=_REJECT_COLUMNS,
        orient="row",
    )
    return dg.AssetCheckResult(
        check_name=f"{table}_{NO_REJECTS}",
        asset_key=table,
        passed=offending.is_empty(),
        severity=completeness_severity(context),
        metadata=check_metadata(offending, see="rest_rejects"),
    )
