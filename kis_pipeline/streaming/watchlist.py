"""Which symbols to stream, best first.

In order of precedence: the symbols given on the command line, `KIS_SYMBOLS`, the newest
volume ranking in the warehouse (`rankings`, ranking = "volume"), or the volume ranking fetched
from KIS now (one REST call). The subscription manager then cuts the list to the 41-registration
budget.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.common.clock import KST
from kis_pipeline.kis.errors import KisError

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient
    from kis_pipeline.kis.settings import KisSettings
    from kis_pipeline.warehouse import Warehouse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Watchlist:
    symbols: list[str]
    source: str


def choose_symbols(
    settings: KisSettings,
    *,
    explicit: Sequence[str] | None = None,
    warehouse: Warehouse | None = None,
    client: KisClient | None = None,
    limit: int = 41,
) -> Watchlist:
    if explicit:
        return Watchlist(_unique(explicit)[:limit], "--symbols")
    if settings.symbols:
        return Watchlist(list(settings.symbols)[:limit], "KIS_SYMBOLS")
    if warehouse is not None:
        found = _from_warehouse(warehouse, limit)
        if found is not None:
            return found
    if client is not None:
        from kis_pipeline.kis.endpoints.rankings import fetch_volume_ranking

        today = dt.datetime.now(KST).date()
        try:
            frame = fetch_volume_ranking(client, today)
        except KisError as exc:
            raise KisError(f"cannot fetch the volume ranking to choose symbols: {exc}") from exc
        symbols = frame.sort("rank").get_column("symbol").to_list()
        return Watchlist(_unique(symbols)[:limit], "volume ranking (KIS, now)")
    raise KisError("no symbols to stream: pass --symbols or set KIS_SYMBOLS")


def _from_warehouse(warehouse: Warehouse, limit: int) -> Watchlist | None:
    try:
        partitions = warehouse.partitions("rankings")
        for partition in reversed(partitions[-5:]):
            frame = warehouse.read("rankings", partitions=[partition])
            top = frame.filter(pl.col("ranking") == "volume").sort("rank")
            if top.height:
                symbols = _unique(top.get_column("symbol").to_list())[:limit]
                return Watchlist(symbols, f"volume ranking of {partition} (warehouse)")
    except Exception as exc:  # no rankings yet: fall back to KIS
        log.debug("no volume ranking in the warehouse: %s", exc)
    return None


def _unique(symbols: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(s.strip().upper() for s in symbols if s and s.strip()))
