"""`overseas_minute_bars`: the one-minute bars of the newest regular session of each overseas
stock of `KIS_OVERSEAS_MINUTE_SYMBOLS` (SPEC §13.5, real only), Tuesday to Saturday at 07:30
KST, after New York's close; about 4 calls per US stock (390 bars, 120 a call), 3 in Hong Kong
and Tokyo, 2 to 3 in China and Vietnam. Each exchange's newest session goes to the partition of
its local date; a ticker its exchange does not list is one line once the others are written.
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from kis_pipeline.common.intraday_schemas import OVERSEAS_MINUTE_BARS
from kis_pipeline.defs.calendar.writing import (
    Written,
    run_metadata,
    skipped,
)
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.kis.endpoints.minute_bars import OVERSEAS_BARS, fetch_overseas_session
from kis_pipeline.lib.quality import (
    check_spec,
    no_rejects_result,
    no_rejects_spec,
    unique_keys_result,
)
from kis_pipeline.lib.schedules import asset_job, today_schedule
from kis_pipeline.lib.table_asset import table_asset
from kis_pipeline.warehouse import Scope

TABLE = "overseas_minute_bars"
CHECKS = [
    check_spec(TABLE, "unique_keys", "No (exchange, symbol, ts) twice."),
    no_rejects_spec(TABLE),
]


@table_asset(
    TABLE,
    group="intraday",
    description=(
        "One row per (exchange, symbol, ts): the newest regular session's one-minute bars of "
        "KIS_OVERSEAS_MINUTE_SYMBOLS, in each exchange's currency."
    ),
    checks=CHECKS,
    source=f"SPEC §13.5 {OVERSEAS_BARS.tr_id}",
    calls="about 4 per US stock, 2 to 3 per Asian one",
    real_only=OVERSEAS_BARS.name,
)
def overseas_minute_bars(
    context,  # unannotated: Dagster rejects the string annotation of `from __future__`
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    settings = kis.settings()
    pairs = settings.overseas_minute_symbols
    if not pairs:
        reason = f"{TABLE} skipped: KIS_OVERSEAS_MINUTE_SYMBOLS is not set (e.g. NAS:AAPL)"
        return skipped(context, reason, [c.name for c in CHECKS])
    frames = [pl.DataFrame(schema=OVERSEAS_MINUTE_BARS)]
    unlisted = []
    with kis.client() as client:
        for excd, ticker in pairs:
            bars = fetch_overseas_session(client, excd, ticker)
            if bars.is_empty():
                unlisted.append(f"{excd}:{ticker}")
            frames.append(bars)
    frame = pl.concat(frames, how="vertical")
    wh = warehouse.warehouse()
    results = []
    for (day,), part in frame.partition_by("date", as_dict=True).items():
        scope = Scope.of(part["symbol"].unique().to_list())
        results.append(wh.write_partition(TABLE, day.isoformat(), part, scope=scope))
    written = Written.of(results)
    if unlisted:
        raise dg.Failure(
            f"{TABLE}: KIS has no minute bars of {', '.join(unlisted)}: the exchange does not "
            "list that ticker (or it did not trade in its newest session); check "
            "KIS_OVERSEAS_MINUTE_SYMBOLS. The others are written."
        )
    return dg.MaterializeResult(
        metadata=run_metadata(frame, written, client, pairs=len(pairs)),
        check_results=[unique_keys_result(TABLE, frame), no_rejects_result(context, TABLE, client)],
    )


overseas_minute_bars_job = asset_job(
    overseas_minute_bars, "The newest session's minute bars of the overseas watchlist."
)
overseas_minute_bars_schedule = today_schedule(
    "overseas_minute_bars_schedule",
    overseas_minute_bars_job,
    cron="30 7 * * 2-6",
    description="Tuesday to Saturday, after New York's close: the overseas minute bars.",
)
