"""`table_asset`: the `dg.asset` of one warehouse table, declared the same way every time: named
after the table, in its domain's group, Parquet, its checks, the KIS source and call count in
its metadata, and in the `kis_api` pool whenever it calls KIS (the pool queues the runs that
share the rate limit). An asset whose endpoint KIS's paper service lacks names it in
`real_only`: under `KIS_ENV=paper` its run is skipped with that reason before its body runs."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import dagster as dg

from kis_pipeline.lib.run_context import POOL
from kis_pipeline.lib.skips import paper_reason, skipped

NO_CALL = "none"


def table_asset(
    table: str,
    *,
    group: str,
    description: str,
    checks: Sequence[dg.AssetCheckSpec],
    source: str,
    calls: str,
    metadata: Mapping[str, Any] | None = None,
    real_only: str | None = None,
    **options: Any,
) -> Callable[..., dg.AssetsDefinition]:
    """The decorator of `table`'s asset; `calls` says how many it makes ("none": no pool);
    `real_only` names the endpoint paper lacks (the asset takes the `kis` resource)."""
    decorate = dg.asset(
        name=table,
        group_name=group,
        kinds={"parquet"},
        metadata={"kis/source": source, "kis/calls": calls, **(metadata or {})},
        description=description,
        check_specs=list(checks),
        **({} if calls == NO_CALL else {"pool": POOL}),
        **options,
    )
    if real_only is None:
        return decorate
    names = [spec.name for spec in checks]

    def guard(body: Callable[..., Any]) -> dg.AssetsDefinition:
        # `wraps` keeps the body's signature, which is what Dagster reads the resources from.
        @functools.wraps(body)
        def run(context: Any, **resources: Any) -> Any:
            reason = paper_reason(resources["kis"].settings().env, table, real_only)
            if reason is not None:
                return skipped(context, reason, names)
            return body(context, **resources)

        return decorate(run)

    return guard
