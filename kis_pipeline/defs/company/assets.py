"""The company families, declared: each is its endpoint (`kis.endpoints`), the fetch of one
symbol, when it runs and how fresh it must stay.

- `stock_info` (SPEC §10.9), Saturdays 08:30 KST, before the statements: every listed name and
  every name seen before, delisted ones included, so the table is a point-in-time universe.
"""

from __future__ import annotations

from kis_pipeline.defs.company.factory import SnapshotAsset, build
from kis_pipeline.kis.endpoints.stock_info import STOCK_INFO, fetch_stock_info

WEEKLY_DAYS = 8

DECLARED = (
    SnapshotAsset(
        STOCK_INFO,
        lambda client, symbol, as_of, since: fetch_stock_info(client, symbol, as_of=as_of),
        cron="30 8 * * 6",
        fresh_days=WEEKLY_DAYS,
        title="stock basic info",
        universe="known",
        complete=True,
    ),
)
BUILT = {declared.table: build(declared) for declared in DECLARED}
