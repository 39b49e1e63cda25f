"""The snapshot rankings (SPEC §8.4-§8.16), one asset per KIS screen declared in
`kis.endpoints.ranking_lists`, all built here the same way.

KIS shows a screen's standings after the latest session only, until the next one opens: each
run learns that session from one index chart call (not from the local clock) and replaces the
session's partition with the screen as it stands, one call per ordering. KIS's paper service
has none of these screens: the assets are skipped there in one line.

A screen the warehouse reproduces exactly has a derivation (`ingest.derived_lists.DERIVATIONS`): its
asset is partitioned by day like `rankings`, the latest session captured from KIS (source
`kis`), every earlier day derived without a call from `daily_prices` and the tables the
derivation names (source `derived`, `ingest.derived_lists`), so a backfill fills it after
them. A day once captured from KIS is never replaced by a derivation, not even under the run
tag `kis/rankings_source=derived` (which derives the latest session too: derive it before the
capture to compare the two). A day lacking what it is derived from (its prices and the
sessions before it a ranking needs, or another table's partition) fails the run naming the
partitions, once the other days are written; a longer window reaching before the stored
prices is null. Derived:
- execution strength (§8.8): buyers' volume against sellers' from `daily_trade_volume`;
- disparity (§8.9): each close against its 5- to 120-session averages of raw closes.

The others keep their history from the first run on (no earlier day can be fetched, so a
backfill leaves them out), each for a reason:
- valuation, financial ratios, profits and assets (§8.4-§8.6): the statements are refreshed
  weekly, stamped with the fetch day, so a past day's published accounts are not known, and
  the financial-ratio screen's order is not in the SPEC;
- quote balance (§8.7): the closing order book is not stored;
- dividend yield (§8.10): `dividends` holds no rate, and the SPEC does not say which price
  KIS's rate is against;
- short sales (§8.11): the SPEC does not say what the screen is ordered by;
- credit (§8.12): not derived yet: `credit_balance` holds the balances and their rate, but
  the screen's change over `CREDIT_CHANGE_DAYS` sessions is not checked against it;
- new highs and lows (§8.13): KIS's order is unknown, and the closing best ask and bid are not
  stored;
- block trades (§8.14): the session's trades are not stored (only the stream's, for a few
  names);
- watchlist registrations (§8.15): KIS's clients' registrations are nowhere else;
- expected executions (§8.16): the closing auction's execution and book are not stored.

Checks, on every day a run writes: `<table>_unique_keys`; `<table>_ranks` (each ordering ranked
1..n, at most 30 rows); `<table>_sorted` (where the SPEC says what an ordering is ordered by:
largest first); `<table>_no_rejects`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import polars as pl

from kis_pipeline.common.clock import today_kst
from kis_pipeline.common.ranking_schemas import RANKING_LISTS as RANKING_SCHEMAS
from kis_pipeline.defs.calendar.runs import run_scope
from kis_pipeline.defs.calendar.sessions import SETTLES, newest_session, plan_days
from kis_pipeline.defs.calendar.writing import run_metadata, write_days, write_one
from kis_pipeline.defs.rankings.sources import (
    captured_days,
    missing_partitions_failure,
    run_source,
    split_sources,
)
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.ingest.derived_lists import DERIVATIONS, DerivedDays, derive_blocks
from kis_pipeline.ingest.derived_rankings import PRICES, History
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.ranking_lists import RANKING_LISTS, RankingList
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.lib.partitions import trading_days
from kis_pipeline.lib.quality import (
    check_spec,
    no_rejects_result,
    no_rejects_spec,
    unique_keys_result,
)
from kis_pipeline.lib.schedules import day_schedule, today_schedule
from kis_pipeline.lib.table_asset import table_asset

GROUP = "rankings"
MAX_ROWS = 30


def _orderings_by(screen: RankingList) -> dict[str, str]:
    return {name: o.by for name, o in screen.orderings.items() if o.by is not None}


def ranks_result(table: str, frame: pl.DataFrame) -> dg.AssetCheckResult:
    """`<table>_ranks`: every ordering of every day ranked 1..n, with at most 30 rows."""
    bad = [
        {"date": day.isoformat(), "ranking": ranking, "rows": part.height}
        for (day, ranking), part in frame.partition_by("date", "ranking", as_dict=True).items()
        if part.height > MAX_ROWS or sorted(part["rank"]) != list(range(1, part.height + 1))
    ]
    return dg.AssetCheckResult(
        check_name=f"{table}_ranks", passed=not bad, metadata=check_metadata(bad)
    )


def sorted_result(table: str, frame: pl.DataFrame, by: dict[str, str]) -> dg.AssetCheckResult:
    """`<table>_sorted`: each ordering the SPEC documents runs largest first by its column, on
    every day."""
    bad = []
    for (day, ranking), part in sorted(frame.partition_by("date", "ranking", as_dict=True).items()):
        if ranking not in by:
            continue
        values = part.sort("rank")[by[ranking]].to_list()
        ordered = all(
            a is not None and b is not None and a >= b for a, b in itertools.pairwise(values)
        )
        if not ordered or None in values:
            bad.append({"date": day.isoformat(), "ranking": ranking, "column": by[ranking]})
    return dg.AssetCheckResult(
        check_name=f"{table}_sorted", passed=not bad, metadata=check_metadata(bad)
    )


@dataclass(frozen=True)
class BuiltList:
    asset: dg.AssetsDefinition
    checks: tuple[str, ...]


def build(screen: RankingList) -> BuiltList:
    table = screen.table
    by = _orderings_by(screen)
    specs = [
        check_spec(table, "unique_keys", "No (date, ranking, rank) twice."),
        check_spec(table, "ranks", "Each ranking is ranked 1..n, with at most 30 rows."),
        *(
            [check_spec(table, "sorted", "Rankings run largest first by what they rank.")]
            if by
            else []
        ),
        no_rejects_spec(table),
    ]
    names = [s.name for s in specs]
    endpoint = screen.endpoint
    orderings = ", ".join(screen.orderings)

    description = (
        f"One row per (date, ranking, rank): KIS's {endpoint.name} screen (SPEC "
        f"{endpoint.section}) after the session, top 30 of each ranking: {orderings}."
    )

    def results(
        context: dg.AssetExecutionContext, frame: pl.DataFrame, client: KisClient | None
    ) -> list[dg.AssetCheckResult]:
        return [
            unique_keys_result(table, frame),
            ranks_result(table, frame),
            *([sorted_result(table, frame, by)] if by else []),
            no_rejects_result(context, table, client),
        ]

    if table in DERIVATIONS:
        return BuiltList(_with_history(screen, description, specs, results), tuple(names))

    @table_asset(
        table,
        group=GROUP,
        description=description,
        checks=specs,
        source=f"SPEC {endpoint.section} {endpoint.tr_id}",
        calls=f"{screen.calls + 1} a run",
        real_only=endpoint.name,
    )
    def ranking_list(
        context,  # unannotated: Dagster rejects the string annotation of `from __future__`
        kis: KisResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        with kis.client() as client:
            session = newest_session(client, today_kst())
            if session is None:
                raise dg.Failure(f"{table}: KIS shows no session in the last two weeks")
            frame = screen.fetch(client, session)
        written = write_one(warehouse.warehouse(), table, session.isoformat(), frame)
        context.log.info(f"{table}: {frame.height} rows of the {session} session")
        return dg.MaterializeResult(
            metadata=run_metadata(frame, written, client, session=session.isoformat()),
            check_results=results(context, frame, client),
        )

    return BuiltList(ranking_list, tuple(names))


def _with_history(
    screen: RankingList,
    description: str,
    specs: list[dg.AssetCheckSpec],
    results: Callable[..., list[dg.AssetCheckResult]],
) -> dg.AssetsDefinition:
    """The asset of a screen with a derivation: partitioned by day like `rankings`, the newest
    session captured from KIS, the days before it derived from `daily_prices`."""
    table = screen.table
    endpoint = screen.endpoint
    derivation = DERIVATIONS[table]
    need = (
        f" (each day with the {derivation.ranked_on} sessions up to it)"
        if derivation.ranked_on > 1
        else ""
    )

    @table_asset(
        table,
        group=GROUP,
        description=(
            f"{description} Captured from KIS for the latest session (source kis), derived "
            "from daily_prices for earlier days (source derived)."
        ),
        checks=specs,
        source=f"SPEC {endpoint.section} {endpoint.tr_id}",
        calls=f"{screen.calls + 1} a run capturing the latest session, else 1",
        real_only=endpoint.name,
        partitions_def=trading_days,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=[dg.AssetDep(t) for t in (PRICES, "symbols", *derivation.tables)],
        metadata=SETTLES,
    )
    def ranking_list(
        context,  # unannotated: Dagster rejects the string annotation of `from __future__`
        kis: KisResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        source = run_source(context, table)
        scope = run_scope(context, kis, warehouse)
        wh = scope.warehouse
        plan = plan_days(wh, scope.days, table=table)
        frames = [pl.DataFrame(schema=RANKING_SCHEMAS[table])]
        sources = {day.isoformat(): "closed" for day in plan.closed}
        write = list(plan.closed)
        derived = DerivedDays(frames[0], {}, {}, {})
        client = None
        if plan.to_fetch:
            with kis.client() as client:
                split = split_sources(
                    table, plan, newest_session(client, plan.to_fetch[-1]), source
                )
                if split.capture is not None:
                    frames.append(screen.fetch(client, split.capture))
                    sources[split.capture.isoformat()] = "kis"
                    write.append(split.capture)
            sources |= {day.isoformat(): "closed" for day in split.closed}
            write.extend(split.closed)
            # Never replace a KIS capture with a derivation, not even under the tag: derive a
            # day before capturing it to compare the two.
            captured = captured_days(wh, table, split.past)
            sources |= {day.isoformat(): "kis (kept)" for day in sorted(captured)}
            past = [day for day in split.past if day not in captured]
            derived = derive_blocks(History(wh), table, derivation, past)
            frames.append(derived.frame)
            for day, count in derived.bars.items():
                sources[day.isoformat()] = "derived" if count else "closed"
                write.append(day)
        frame = pl.concat(frames, how="vertical")
        written = write_days(wh, table, frame, write)
        short = {day.isoformat(): n for day, n in sorted(derived.short.items())}
        if short:
            context.log.warning(
                f"{table}: daily_prices holds fewer than {derivation.sessions} sessions up to "
                f"{', '.join(short)}; the columns needing more are null"
            )
        if derived.missing:
            lacking: dict[str, list[str]] = {}
            for read, key in derived.missing.values():
                lacking.setdefault(read, []).append(key)
            raise missing_partitions_failure(table, lacking, need)
        return dg.MaterializeResult(
            metadata=run_metadata(frame, written, client, sources=sources, short_history=short),
            check_results=results(context, frame, client),
        )

    return ranking_list


BUILT = {table: build(screen) for table, screen in RANKING_LISTS.items()}
ASSETS = [built.asset for built in BUILT.values()]
DERIVED = [BUILT[table].asset for table in RANKING_LISTS if table in DERIVATIONS]
SNAPSHOTS = [BUILT[table].asset for table in RANKING_LISTS if table not in DERIVATIONS]

ranking_lists_job = dg.define_asset_job(
    "ranking_lists_job",
    selection=dg.AssetSelection.assets(*SNAPSHOTS),
    description="KIS's ranking screens (SPEC §8.4-§8.16) as they stand after the session.",
)
# The screens with a derived history are partitioned by day: their own job, the day's partition.
ranking_history_job = dg.define_asset_job(
    "ranking_history_job",
    selection=dg.AssetSelection.assets(*DERIVED),
    partitions_def=trading_days,
    description="KIS's ranking screens that past days are derived for, after the session.",
)
# After the core rankings (18:45): the screens describe the session until the next one opens.
ranking_lists_schedule = today_schedule(
    "ranking_lists_schedule",
    ranking_lists_job,
    cron="48 18 * * 1-5",
    description="After the close on weekdays: keep KIS's ranking screens of the session.",
)
ranking_history_schedule = day_schedule(
    "ranking_history_schedule",
    ranking_history_job,
    cron="48 18 * * 1-5",
    run_key_prefix="ranking_history-",
    description="After the close on weekdays: the day's partition of the derivable screens.",
)
