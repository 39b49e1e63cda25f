"""`investor_flows` and `market_investor_flows` over a range: one 30-session walk per symbol
(or market) back from the end of the range."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import polars as pl

from kis_pipeline.ingest.per_key import fetch_each
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.flows import (
    MARKETS,
    fetch_investor_flows,
    fetch_market_investor_flows,
)
from kis_pipeline.warehouse import TABLES

__all__ = ["MARKETS", "fetch_flows"]

# Sessions per call of both endpoints; a run of this many weekdays needs one call per key.
SESSIONS_PER_CALL = 30
# Each table's endpoint, called once per key (a symbol, or a market).
FETCHES: dict[str, Callable[[KisClient, str, dt.date, dt.date], pl.DataFrame]] = {
    "investor_flows": fetch_investor_flows,
    "market_investor_flows": fetch_market_investor_flows,
}


def fetch_flows(
    client: KisClient,
    table: str,
    keys: Sequence[str],
    start: dt.date,
    end: dt.date,
    *,
    sessions: int,
    on_planned: Callable[[int], None] | None = None,
    on_key: Callable[[dict[str, str]], None] | None = None,
) -> tuple[pl.DataFrame, dict[str, str]]:
    """One walk per key over [start, end]; keys KIS rejects are reported, not fatal.

    `sessions` is how many sessions the range may hold (the days to fetch): the plan is one
    call per key and `SESSIONS_PER_CALL` of them, handed to `on_planned` before the first
    call; `on_key` gets the failures so far after each key.
    """
    fetch = FETCHES[table]
    pages = -(-sessions // SESSIONS_PER_CALL)
    if on_planned is not None:
        on_planned(len(keys) * pages)
    return fetch_each(
        keys,
        lambda key: fetch(client, key, start, end),
        TABLES[table].schema,
        on_key=on_key,
        name="flows",
    )
