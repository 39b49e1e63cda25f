"""The snapshot rankings (SPEC §8.4-§8.16), one asset per KIS screen declared in
`kis.endpoints.ranking_lists`, all built here the same way.

KIS shows a screen's standings after the latest session only, until the next one opens: each
run learns that session from one index chart call (not from the local clock) and replaces the
session's partition with the screen as it stands, one call per ordering. The tables are the
screens' history from the first run on; no earlier day can be fetched, so a backfill leaves them
out. KIS's paper service has none of these screens: the assets are skipped there in one line.

Checks: `<table>_unique_keys`; `<table>_ranks` (each ordering ranked 1..n, at most 30 rows);
`<table>_sorted` (where the SPEC says what an ordering is ordered by: largest first);
`<table>_no_rejects`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import dagster as dg
import polars as pl

from kis_pipeline.common.clock import today_kst
from kis_pipeline.defs.calendar.sessions import newest_session
from kis_pipeline.defs.calendar.writing import run_metadata, write_one
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.kis.endpoints.ranking_lists import RANKING_LISTS, RankingList
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.lib.quality import (
    check_spec,
    no_rejects_result,
    no_rejects_spec,
    unique_keys_result,
)
from kis_pipeline.lib.schedules import today_schedule
from kis_pipeline.lib.table_asset import table_asset

GROUP = "rankings"
MAX_ROWS = 30


def _orderings_by(screen: RankingList) -> dict[str, str]:
    return {name: o.by for name, o in screen.orderings.items() if o.by is not None}


def ranks_result(table: str, frame: pl.DataFrame) -> dg.AssetCheckResult:
    """`<table>_ranks`: every ordering ranked 1..n, with at most 30 rows."""
    bad = [
        {"ranking": ranking, "rows": part.height}
        for (ranking,), part in frame.partition_by("ranking", as_dict=True).items()
        if part.height > MAX_ROWS or sorted(part["rank"]) != list(range(1, part.height + 1))
    ]
    return dg.AssetCheckResult(
        check_name=f"{table}_ranks", passed=not bad, metadata=check_metadata(bad)
    )


def sorted_result(table: str, frame: pl.DataFrame, by: dict[str, str]) -> dg.AssetCheckResult:
    """`<table>_sorted`: each ordering the SPEC documents runs largest first by its column."""
    bad = []
    for ranking, column in sorted(by.items()):
        values = frame.filter(pl.col("ranking") == ranking).sort("rank")[column].to_list()
        ordered = all(
            a is not None and b is not None and a >= b for a, b in itertools.pairwise(values)
        )
        if not ordered or None in values:
            bad.append({"ranking": ranking, "column": column})
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

    @table_asset(
        table,
        group=GROUP,
        description=(
            f"One row per (date, ranking, rank): KIS's {endpoint.name} screen (SPEC "
            f"{endpoint.section}) after the session, top 30 of each ranking: {orderings}."
        ),
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
            check_results=[
                unique_keys_result(table, frame),
                ranks_result(table, frame),
                *([sorted_result(table, frame, by)] if by else []),
                no_rejects_result(context, table, client),
            ],
        )

    return BuiltList(ranking_list, tuple(names))


BUILT = {table: build(screen) for table, screen in RANKING_LISTS.items()}
ASSETS = [built.asset for built in BUILT.values()]

ranking_lists_job = dg.define_asset_job(
    "ranking_lists_job",
    selection=dg.AssetSelection.assets(*ASSETS),
    description="KIS's ranking screens (SPEC §8.4-§8.16) as they stand after the session.",
)
# After the core rankings (18:45): the screens describe the session until the next one opens.
ranking_lists_schedule = today_schedule(
    "ranking_lists_schedule",
    ranking_lists_job,
    cron="48 18 * * 1-5",
    description="After the close on weekdays: keep KIS's ranking screens of the session.",
)
