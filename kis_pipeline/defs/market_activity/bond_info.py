"""`bond_info`: the terms of the KRX-listed bonds of `KIS_BOND_SYMBOLS` (issue-info CTPF1101R,
`kis.endpoints.bond_prices`) as KIS describes them on the run day, one partition per as_of: a
rerun the same day replaces it, earlier days stay readable. One call per bond, Saturdays 08:35.
A bond KIS does not know is one line once the others are written; without `KIS_BOND_SYMBOLS`
the asset is skipped in one line; KIS's paper service has no bond endpoints (skipped too).

Checks: `unique_keys`, `complete` (every bond has its row), `no_rejects`.
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from kis_pipeline.common.bond_schemas import BOND_INFO
from kis_pipeline.common.clock import today_kst
from kis_pipeline.defs.calendar.writing import run_metadata, skipped, write_one
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.kis.endpoints.bond_prices import BOND_INFO_ENDPOINT, fetch_bond_info
from kis_pipeline.kis.errors import BusinessError
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.lib.quality import (
    COMPLETE,
    check_spec,
    no_rejects_result,
    no_rejects_spec,
    unique_keys_result,
)
from kis_pipeline.lib.schedules import asset_job, today_schedule
from kis_pipeline.lib.table_asset import table_asset

TABLE = "bond_info"
CHECKS = [
    check_spec(TABLE, "unique_keys", "No (as_of, symbol) twice."),
    check_spec(TABLE, COMPLETE, "Every bond of KIS_BOND_SYMBOLS has its terms."),
    no_rejects_spec(TABLE),
]


@table_asset(
    TABLE,
    group="market_activity",
    description=(
        "One row per (as_of, symbol): the terms of each KRX-listed bond of KIS_BOND_SYMBOLS "
        "as KIS described them on as_of (coupon, maturity, amounts, issuer); none without "
        "KIS_BOND_SYMBOLS."
    ),
    checks=CHECKS,
    source=f"official samples, {BOND_INFO_ENDPOINT.name} {BOND_INFO_ENDPOINT.tr_id}",
    calls="1 per bond a run",
    real_only=BOND_INFO_ENDPOINT.name,
)
def bond_info(
    context,  # unannotated: Dagster rejects the string annotation of `from __future__`
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    codes = kis.settings().bond_symbols
    if not codes:
        reason = f"{TABLE} skipped: KIS_BOND_SYMBOLS is not set (e.g. KR103502GA34)"
        return skipped(context, reason, [c.name for c in CHECKS])
    as_of = today_kst()
    frames, unknown = [pl.DataFrame(schema=BOND_INFO)], []
    with kis.client() as client:
        for code in codes:
            try:
                frames.append(fetch_bond_info(client, code, as_of=as_of))
            except BusinessError as exc:
                unknown.append(f"{code} ({exc})")
    frame = pl.concat(frames, how="vertical")
    written = write_one(warehouse.warehouse(), TABLE, as_of.isoformat(), frame)
    if unknown:
        raise dg.Failure(
            f"{TABLE}: KIS does not know {', '.join(unknown)}; check KIS_BOND_SYMBOLS "
            "(the other bonds are written)"
        )
    missing = sorted(set(codes) - set(frame["symbol"].to_list()))
    return dg.MaterializeResult(
        metadata=run_metadata(frame, written, client, as_of=as_of.isoformat(), bonds=len(codes)),
        check_results=[
            unique_keys_result(TABLE, frame),
            dg.AssetCheckResult(
                check_name=f"{TABLE}_{COMPLETE}",
                passed=not missing,
                metadata=check_metadata(missing),
            ),
            no_rejects_result(context, TABLE, client),
        ],
    )


bond_info_job = asset_job(bond_info, "The terms of the KRX-listed bonds of KIS_BOND_SYMBOLS.")
bond_info_schedule = today_schedule(
    "bond_info_schedule",
    bond_info_job,
    cron="35 8 * * 6",
    description="Saturday mornings: the bonds' terms as KIS describes them.",
)
