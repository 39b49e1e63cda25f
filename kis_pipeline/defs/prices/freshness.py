"""`<table>_fresh` of the price tables: asset checks of their own, run by
`prices_freshness_schedule`, never by a run that writes the table.

Freshness is about the clock, not about what a run wrote: a backfill of old days is not stale
data, so a backfill leaves these checks out (`cli.dagster_runner`), which it can do only for
checks defined apart from the asset. A table is fresh when its newest session with rows is
the latest one that should be in (WARN otherwise).
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from kis_pipeline.common.clock import now_kst
from kis_pipeline.defs.clock_checks import clock_check
from kis_pipeline.defs.prices import checks
from kis_pipeline.ingest.overseas_prices import last_closed_day
from kis_pipeline.ingest.reference import latest_session, newest_nonempty
from kis_pipeline.warehouse import Warehouse

OVERSEAS = "overseas_daily_prices"
CALENDAR = "overseas_calendar"
# The exchanges the newest partitions of the overseas table are read for.
RECENT_PARTITIONS = 10


def overseas_expected(
    warehouse: Warehouse, exchanges: frozenset[str], now: dt.datetime
) -> dt.date | None:
    """The newest session every exchange of the table (or of `exchanges`, when the table has
    none yet) has closed at `now`: its last closed weekday, or before it the last day
    `overseas_calendar` does not call closed (a holiday is not staleness)."""
    recent = warehouse.partitions(OVERSEAS)[-RECENT_PARTITIONS:]
    stored = set(warehouse.read(OVERSEAS, recent)["exchange"].to_list()) if recent else set()
    years = [str(now.year - 1), str(now.year)]
    calendar = warehouse.read(CALENDAR, years).filter(~pl.col("is_open"))
    closed = set(calendar.select("date", "exchange").iter_rows())

    def last_session(exchange: str) -> dt.date:
        day = last_closed_day(exchange, now)
        while (day, exchange) in closed or day.weekday() >= 5:
            day -= dt.timedelta(days=1)
        return day

    return min((last_session(e) for e in stored or exchanges), default=None)


def price_freshness(
    table: str,
    warehouse: Warehouse,
    *,
    exchanges: frozenset[str] = frozenset(),
    now: dt.datetime | None = None,
) -> dg.AssetCheckResult:
    now = now or now_kst()
    if table == OVERSEAS:
        expected = overseas_expected(warehouse, exchanges, now)
    else:
        expected = latest_session(warehouse, now)
    return checks.freshness_result(table, newest_nonempty(warehouse, table), expected, ())


def price_freshness_check(
    table: str, description: str, *, exchanges: frozenset[str] = frozenset()
) -> dg.AssetChecksDefinition:
    return clock_check(asset=table, name=f"{table}_fresh", description=description)(
        lambda warehouse: price_freshness(table, warehouse, exchanges=exchanges)
    )
