"""Where each day of a ranking table comes from, shared by `rankings` and the ranking screens
with a derivation (`lists`): KIS's capture for its newest session, a derivation from
`daily_prices` for every earlier one, and a day once captured from KIS kept as it is.

The run tag `kis/rankings_source=derived` derives the newest session too, to compare it with
KIS's capture.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg
import polars as pl

from kis_pipeline.ingest.days import DayPlan
from kis_pipeline.warehouse import Warehouse

# Run tag: "derived" derives even the latest session (to compare with KIS's capture).
SOURCE_TAG = "kis/rankings_source"
SOURCES = ("auto", "derived")


def run_source(context: dg.AssetExecutionContext, table: str) -> str:
    """The run's `SOURCE_TAG`, "auto" when untagged."""
    source = context.run.tags.get(SOURCE_TAG, "auto")
    if source not in SOURCES:
        raise dg.Failure(f"{table}: tag {SOURCE_TAG} must be auto or derived, not {source!r}")
    return source


@dataclass
class DaySources:
    """A run's days by source: the newest session to capture from KIS (None: none), the days
    to derive, and the closed days (written empty)."""

    capture: dt.date | None = None
    past: list[dt.date] = field(default_factory=list)
    closed: list[dt.date] = field(default_factory=list)


def split_sources(table: str, plan: DayPlan, newest: dt.date | None, source: str) -> DaySources:
    """The plan's days to fetch by source, `newest` being KIS's newest session. A day after it
    that the calendar does not mark closed has not been published: the run fails."""
    split = DaySources()
    for day in plan.to_fetch:
        if newest is None or day > newest:
            if plan.known.get(day) is not False:
                raise dg.Failure(f"{table}: KIS has no session {day} yet; rerun after the close")
            split.closed.append(day)
        elif day == newest and source == "auto":
            split.capture = day
        else:
            split.past.append(day)
    return split


def captured_days(warehouse: Warehouse, table: str, days: Sequence[dt.date]) -> set[dt.date]:
    """Days among `days` whose stored rows were captured from KIS."""
    if not days:
        return set()
    kept = warehouse.read(table, [d.isoformat() for d in days])
    return set(kept.filter(pl.col("source") == "kis")["date"].unique().to_list())


def missing_partitions_failure(
    table: str, missing: Mapping[str, Iterable[str]], need: str = ""
) -> dg.Failure:
    """The failure of a run some of whose days lack the partitions they are derived from
    (`missing`: table -> its partition keys); `need` says what a day needs beyond its own."""
    listed = {source: sorted(set(keys)) for source, keys in sorted(missing.items()) if keys}
    lacks = "; ".join(f"no {source} partition for {', '.join(k)}" for source, k in listed.items())
    sources = " and ".join(listed)
    return dg.Failure(
        f"{table}: {lacks}; past rankings are derived from {sources}{need}, so materialize "
        f"{'it' if len(listed) == 1 else 'them'} for these days first",
        metadata={f"missing_{source}": keys for source, keys in listed.items()},
    )
