"""Per-symbol snapshots of what KIS shows today (stock info, analyst opinions, estimates): the
symbols a run asks about, and one fetch per symbol.

Two universes. `listed_symbols`: the symbols listed on the day (`symbols`), restricted to the
run's; an unknown one is refused before any call. `known_symbols`, for a table that keeps
delisted names: the listed ones, every name a `symbols` snapshot since the table's previous
snapshot held (a name listed and delisted in between) and every name of that previous
snapshot, so a name that leaves the master files is still asked about and keeps its row with
its delisting date. A run restricted to some symbols asks KIS about exactly those: KIS, not
today's master file, knows delisted codes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import polars as pl

from kis_pipeline.ingest.per_key import fetch_each
from kis_pipeline.ingest.reference import Universe
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.stock_info import fetch_stock_info
from kis_pipeline.warehouse import TABLES, Warehouse

# (client, symbol, as_of, the table's previous as_of or None) -> the symbol's rows.
SnapshotFetch = Callable[[KisClient, str, dt.date, dt.date | None], pl.DataFrame]


def previous_as_of(wh: Warehouse, table: str, as_of: dt.date) -> dt.date | None:
    """The newest snapshot of `table` before `as_of`."""
    earlier = [p for p in wh.partitions(table) if p < as_of.isoformat()]
    return dt.date.fromisoformat(earlier[-1]) if earlier else None


def listed_symbols(wh: Warehouse, as_of: dt.date, only: Sequence[str] | None) -> list[str]:
    """The symbols listed on `as_of`, restricted to `only` (MissingReference if one of
    those is not listed, or if no `symbols` snapshot exists)."""
    return Universe(wh, only=only).on(as_of)


def known_symbols(
    wh: Warehouse, table: str, as_of: dt.date, only: Sequence[str] | None
) -> list[str]:
    """`only` as given, else the listed symbols and every name seen since the previous
    snapshot of `table` (see the module docstring)."""
    if only is not None:
        return list(dict.fromkeys(only))
    names = set(listed_symbols(wh, as_of, None))
    previous = previous_as_of(wh, table, as_of)
    if previous is not None:
        names |= set(wh.read(table, [previous.isoformat()])["symbol"].to_list())
        since = [p for p in wh.partitions("symbols") if previous.isoformat() <= p <= str(as_of)]
        if since:
            names |= set(wh.read("symbols", since)["symbol"].to_list())
    return sorted(names)


def stock_info_of(
    client: KisClient, symbol: str, as_of: dt.date, since: dt.date | None
) -> pl.DataFrame:
    """A `SnapshotFetch` of stock basic info (§10.9): one symbol's row as of today; `since`
    does not matter to a description."""
    return fetch_stock_info(client, symbol, as_of=as_of)


def fetch_snapshots(
    client: KisClient,
    table: str,
    fetch: SnapshotFetch,
    symbols: Sequence[str],
    as_of: dt.date,
    since: dt.date | None,
) -> tuple[pl.DataFrame, dict[str, str]]:
    """Every symbol's rows as of today, one fetch each (`since`: the table's previous
    snapshot); a symbol KIS rejects (an unknown code) is reported, not raised."""
    schema = TABLES[table].schema
    return fetch_each(symbols, lambda s: fetch(client, s, as_of, since), schema, name=table)
