"""Runs that write nothing on purpose: the result that says why in one line and passes the
asset's checks with that reason, and the reason for the endpoints KIS's paper service lacks."""

from __future__ import annotations

import dagster as dg


def paper_reason(env: str, table: str, endpoint: str) -> str | None:
    """Why `table` is skipped under `KIS_ENV=paper` (KIS's mock service has no `endpoint`,
    SPEC §16); None elsewhere."""
    if env != "paper":
        return None
    return f"{table} skipped: KIS's paper (mock) service has no {endpoint} (SPEC §16)"


def skipped(
    context: dg.AssetExecutionContext, reason: str, checks: list[str]
) -> dg.MaterializeResult:
    """A result that writes nothing, says why in one line, and passes `checks` with it."""
    context.log.warning(reason)
    return dg.MaterializeResult(
        metadata={"skipped": dg.MetadataValue.text(reason), "rows": dg.MetadataValue.int(0)},
        check_results=[
            dg.AssetCheckResult(
                check_name=name, passed=True, metadata={"skipped": dg.MetadataValue.text(reason)}
            )
            for name in checks
        ],
    )


def skipped_in_paper(
    context: dg.AssetExecutionContext,
    env: str,
    table: str,
    endpoint: str,
    checks: list[str],
) -> dg.MaterializeResult | None:
    """In `KIS_ENV=paper`, a result that skips an asset whose endpoint KIS's mock service
    lacks, with a one-line reason; None elsewhere."""
    reason = paper_reason(env, table, endpoint)
    return None if reason is None else skipped(context, reason, checks)
