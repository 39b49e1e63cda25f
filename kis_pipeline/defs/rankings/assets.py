"""`rankings`: the top 30 by volume, rise, fall and market cap, one partition per trading day.

KIS answers rankings only for the latest session (SPEC §8): a run captures them from KIS
(source "kis") for the day that is KIS's newest session, which it learns from one index chart
call rather than from the local clock. Every other day is derived from `daily_prices`
(source "derived", `ingest.derived_rankings`); a day already captured from KIS is never
overwritten by a derivation. Closed days are empty partitions, without calls. The run tag
`kis/rankings_source=derived` derives the latest session too (to compare it with KIS's).
"""

from __future__ import annotations

import datetime as dt
import itertools

import dagster as dg
import polars as pl

from kis_pipeline.defs.calendar.freshness import NIGHTLY_FRESHNESS
from kis_pipeline.defs.calendar.runs import run_scope
from kis_pipeline.defs.calendar.sessions import SETTLES, newest_session, plan_days
from kis_pipeline.defs.calendar.writing import run_metadata, write_days
from kis_pipeline.defs.rankings.sources import (
    captured_days,
    missing_partitions_failure,
    run_source,
    split_sources,
)
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.ingest.derived_rankings import DERIVE_BLOCK, PRICES, History
from kis_pipeline.ingest.rankings import capture_from_kis
from kis_pipeline.kis import schemas
from kis_pipeline.lib import read_ahead
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.lib.partitions import trading_days
from kis_pipeline.lib.run_context import FIRST_IN_RUN, POOL

TABLE = "rankings"
UNIQUE_KEYS = "rankings_unique_keys"
THIRTY_ROWS = "rankings_thirty_rows"
SORTED = "rankings_sorted"
# The measure each ranking is ordered by, and its direction.
ORDER_BY = {
    "volume": ("volume", True),
    "rise": ("change_rate", True),
    "fall": ("change_rate", False),
    "market_cap": ("market_cap", True),
}


def rankings_checks(
    frame: pl.DataFrame, expected_rows: dict[dt.date, int]
) -> list[dg.AssetCheckResult]:
    keys = frame.select("date", "ranking", "rank")
    dupes = frame.filter(keys.is_duplicated()).select("date", "ranking", "rank")
    counts = {(d, r): n for d, r, n in frame.group_by("date", "ranking").len().iter_rows()}
    wrong_size = [
        {
            "date": day.isoformat(),
            "ranking": kind,
            "rows": counts.get((day, kind), 0),
            "expected": n,
        }
        for day, n in sorted(expected_rows.items())
        for kind in ORDER_BY
        if counts.get((day, kind), 0) != n
    ]
    unsorted = []
    for (day, kind), part in frame.partition_by("date", "ranking", as_dict=True).items():
        part = part.sort("rank")
        column, descending = ORDER_BY[kind]
        values = part[column].to_list()
        ranks_ok = part["rank"].to_list() == list(range(1, part.height + 1))
        pairs = list(itertools.pairwise(values))
        order_ok = all(
            a is not None and b is not None and (a >= b if descending else a <= b) for a, b in pairs
        )
        if not (ranks_ok and order_ok):
            unsorted.append({"date": day.isoformat(), "ranking": kind})
    return [
        dg.AssetCheckResult(
            check_name=UNIQUE_KEYS, passed=dupes.height == 0, metadata=check_metadata(dupes)
        ),
        dg.AssetCheckResult(
            check_name=THIRTY_ROWS, passed=not wrong_size, metadata=check_metadata(wrong_size)
        ),
        dg.AssetCheckResult(
            check_name=SORTED, passed=not unsorted, metadata=check_metadata(unsorted)
        ),
    ]


@dg.asset(
    name=TABLE,
    group_name="rankings",
    partitions_def=trading_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[dg.AssetDep(PRICES), dg.AssetDep("symbols")],
    pool=POOL,
    op_tags=FIRST_IN_RUN,
    kinds={"parquet"},
    metadata=SETTLES,
    freshness_policy=NIGHTLY_FRESHNESS,
    description=(
        "One row per (date, ranking, rank): the top 30 by volume, rise, fall and market cap; "
        "captured from KIS for the latest session (source kis), derived from daily_prices "
        "for earlier days (source derived)."
    ),
    check_specs=[
        dg.AssetCheckSpec(UNIQUE_KEYS, asset=TABLE, description="No (date, ranking, rank) twice."),
        dg.AssetCheckSpec(
            THIRTY_ROWS,
            asset=TABLE,
            description="30 rows per ranking and session (fewer only if fewer symbols traded).",
        ),
        dg.AssetCheckSpec(
            SORTED, asset=TABLE, description="Ranks 1..n in the order of the ranking's measure."
        ),
    ],
)
def rankings(
    # `context` stays unannotated: Dagster rejects the string annotation that
    # `from __future__ import annotations` would make of it.
    context,
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    source = run_source(context, TABLE)
    scope = run_scope(context, kis, warehouse)
    if scope.settings.env == "paper":
        # KIS's mock service has no ranking endpoints (SPEC §16): derive every day.
        context.log.warning(f"{TABLE}: KIS_ENV=paper has no rankings; deriving from daily_prices")
        source = "derived"
    # The run's other families fetch while this step derives past days from daily_prices.
    read_ahead.begin(context, scope)
    wh = scope.warehouse
    plan = plan_days(wh, scope.days, table=TABLE)
    frames: list[pl.DataFrame] = []
    sources: dict[str, str] = {day.isoformat(): "closed" for day in plan.closed}
    expected: dict[dt.date, int] = {}
    write: list[dt.date] = list(plan.closed)
    missing_prices: list[str] = []
    past: list[dt.date] = []
    client = None
    if plan.to_fetch:
        with kis.client() as client:
            split = split_sources(TABLE, plan, newest_session(client, plan.to_fetch[-1]), source)
            if split.capture is not None:
                frame = capture_from_kis(client, split.capture)
                frames.append(frame)
                sources[split.capture.isoformat()] = "kis"
                expected[split.capture] = min(
                    30, frame.filter(pl.col("ranking") == "volume").height
                )
                write.append(split.capture)
        sources |= {day.isoformat(): "closed" for day in split.closed}
        write.extend(split.closed)
        captured = captured_days(wh, TABLE, split.past) if source == "auto" else set()
        for day in sorted(captured):
            # Never replace a KIS capture with a derivation.
            sources[day.isoformat()] = "kis (kept)"
        history = History(wh)
        past = [day for day in split.past if day not in captured]
        for start in range(0, len(past), DERIVE_BLOCK):
            derived = history.derive(past[start : start + DERIVE_BLOCK])
            missing_prices.extend(day.isoformat() for day in derived.missing)
            frames.append(derived.frame)
            for day, count in derived.bars.items():
                sources[day.isoformat()] = "derived" if count else "closed"
                if count:
                    expected[day] = min(30, count)
                write.append(day)
    frame = pl.concat([pl.DataFrame(schema=schemas.RANKINGS), *frames], how="vertical")
    written = write_days(wh, TABLE, frame, write)
    if missing_prices:
        raise missing_partitions_failure(TABLE, {PRICES: missing_prices})
    return dg.MaterializeResult(
        metadata=run_metadata(frame, written, client, sources=sources),
        check_results=rankings_checks(frame, expected),
    )
