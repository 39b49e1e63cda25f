"""`table_asset`: the `dg.asset` of one warehouse table, declared the same way every time: named
after the table, in its domain's group, Parquet, its checks, the KIS source and call count in
its metadata, and in the `kis_api` pool whenever it calls KIS (the pool queues the runs that
share the rate limit)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import dagster as dg

from kis_pipeline.lib.run_context import POOL

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
    **options: Any,
) -> Callable[..., dg.AssetsDefinition]:
    """The decorator of `table`'s asset; `calls` says how many it makes ("none": no pool)."""
    return dg.asset(
        name=table,
        group_name=group,
        kinds={"parquet"},
        metadata={"kis/source": source, "kis/calls": calls, **(metadata or {})},
        description=description,
        check_specs=list(checks),
        **({} if calls == NO_CALL else {"pool": POOL}),
        **options,
    )
