"""Any daily trend family (`kis.endpoints._trend.SymbolTrend`) over a range: one walk per key
(a symbol, or a market) over the days to fetch, as few calls as the endpoint's window allows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from kis_pipeline.ingest.per_key import fetch_each
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints._trend import SymbolTrend


@dataclass(frozen=True)
class TrendPlan:
    """The calls a run makes: `calls_per_key` for each of `keys` over [start, end]."""

    keys: tuple[str, ...]
    start: dt.date
    end: dt.date
    calls_per_key: int

    @property
    def calls(self) -> int:
        return len(self.keys) * self.calls_per_key


def plan_calls(trend: SymbolTrend, keys: Sequence[str], sessions: Sequence[dt.date]) -> TrendPlan:
    """One walk per key over the first to the last of `sessions` (the days to fetch)."""
    ordered = sorted(sessions)
    if not ordered:
        raise ValueError(f"{trend.table}: no day to fetch")
    return TrendPlan(tuple(keys), ordered[0], ordered[-1], trend.calls(len(ordered)))


def fetch_trend(
    client: KisClient,
    trend: SymbolTrend,
    plan: TrendPlan,
    *,
    on_key: Callable[[dict[str, str]], None] | None = None,
) -> tuple[pl.DataFrame, dict[str, str]]:
    """The plan's rows in the table's schema, and the keys KIS rejected (with why)."""
    return fetch_each(
        plan.keys,
        lambda key: trend.fetch(client, key, plan.start, plan.end),
        trend.schema,
        on_key=on_key,
        name=trend.table,
    )
