"""The company families, declared: each is its endpoint (`kis.endpoints`), the fetch of one
symbol, when it runs and how fresh it must stay.

- `stock_info` (SPEC §10.9), Saturdays 08:30 KST, before the statements: every listed name and
  every name seen before, delisted ones included, so the table is a point-in-time universe.
- `stock_status` (§7.2), weekdays 18:25, after the close: every listed name's trading status
  (VI, halt, market warning, short-sale overheating), which KIS shows only as it stands.
- `analyst_opinions` (§10.12), weekdays 19:30, after the market activity families: the reports
  dated since the previous snapshot's day (a year back on the first run), so a day missed is
  caught up by the next run.
- `analyst_estimates` (§10.11), Saturdays 09:30: KIS Research updates them at the start of
  each month; a weekly run sees a new month within days.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from kis_pipeline.defs.company.factory import SnapshotAsset, build
from kis_pipeline.ingest.company import stock_info_of
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.analyst import (
    ANALYST_ESTIMATES,
    ANALYST_OPINIONS,
    fetch_estimates,
    fetch_opinions,
)
from kis_pipeline.kis.endpoints.stock_info import STOCK_INFO
from kis_pipeline.kis.endpoints.stock_status import STOCK_STATUS, fetch_stock_status

WEEKLY_DAYS = 8
# A Friday's opinions are still the newest on Tuesday morning.
WEEKDAY_DAYS = 4
FIRST_LOOKBACK = dt.timedelta(days=365)


def _opinions(
    client: KisClient, symbol: str, as_of: dt.date, since: dt.date | None
) -> pl.DataFrame:
    start = since or as_of - FIRST_LOOKBACK
    return fetch_opinions(client, symbol, start, as_of, as_of=as_of)


DECLARED = (
    SnapshotAsset(
        STOCK_INFO,
        stock_info_of,
        cron="30 8 * * 6",
        fresh_days=WEEKLY_DAYS,
        title="stock basic info",
        universe="known",
        complete=True,
    ),
    SnapshotAsset(
        STOCK_STATUS,
        lambda client, symbol, as_of, since: fetch_stock_status(client, symbol, as_of=as_of),
        cron="25 18 * * 1-5",
        fresh_days=WEEKDAY_DAYS,
        title="trading status",
        complete=True,
    ),
    SnapshotAsset(
        ANALYST_OPINIONS,
        _opinions,
        cron="30 19 * * 1-5",
        fresh_days=WEEKDAY_DAYS,
        title="broker opinions",
    ),
    SnapshotAsset(
        ANALYST_ESTIMATES,
        lambda client, symbol, as_of, since: fetch_estimates(client, symbol, as_of=as_of),
        cron="30 9 * * 6",
        fresh_days=WEEKLY_DAYS,
        title="analyst estimates",
    ),
)
BUILT = {declared.table: build(declared) for declared in DECLARED}
