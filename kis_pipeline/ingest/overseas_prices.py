"""`overseas_daily_prices` over a range: each (exchange, symbol) walked back with `BYMD`, 100
rows a call (SPEC §13.3), the fetched frames kept under `$KIS_WAREHOUSE/raw/overseas_daily/`
for reruns; and when each exchange's (local) day has closed."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from kis_pipeline.common.overseas_exchanges import EXCHANGES
from kis_pipeline.ingest.daily_chart import read_cached, write_cached
from kis_pipeline.kis import schemas
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.overseas import (
    OVERSEAS_DAILY_PAGE_ROWS,
    NotListed,
    fetch_overseas_daily,
)
from kis_pipeline.kis.errors import CredentialsRejected, KisConfigError, KisError

FETCH_WORKERS = 4

# A weekday's bar is due once its exchange has closed that (local) day. An exchange not
# declared is taken as New York, the last to close.
NEW_YORK = EXCHANGES["NYS"]


def planned_calls(tickers: int, days: int) -> int:
    return tickers * math.ceil(days / OVERSEAS_DAILY_PAGE_ROWS)


class RangeCache:
    """One fetched (exchange, symbol, range) frame, reused when it reached its last day."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, exchange: str, symbol: str, start: dt.date, end: dt.date) -> Path:
        return self.root / exchange / symbol / f"{start:%Y%m%d}_{end:%Y%m%d}.parquet"

    def load(self, exchange: str, symbol: str, start: dt.date, end: dt.date) -> pl.DataFrame | None:
        return read_cached(self._path(exchange, symbol, start, end))

    def save(
        self, exchange: str, symbol: str, start: dt.date, end: dt.date, frame: pl.DataFrame
    ) -> None:
        if frame.is_empty() or frame["date"].max() != end:
            return
        write_cached(self._path(exchange, symbol, start, end), frame)


@dataclass
class OverseasBars:
    """What fetching a range for many tickers produced: the bars, failures by "EXCD:SYMBOL",
    and the tickers their exchange does not list (a configuration error, not a KIS failure)."""

    frame: pl.DataFrame
    failures: dict[str, str] = field(default_factory=dict)
    unlisted: list[str] = field(default_factory=list)
    cache_hits: int = 0


def fetch_overseas(
    client: KisClient,
    cache: RangeCache,
    tickers: Sequence[tuple[str, str]],
    start: dt.date,
    end: dt.date,
    *,
    on_done: Callable[[], None] | None = None,
) -> OverseasBars:
    """Every ticker's bars in [start, end] (cache first), in parallel; a ticker KIS refuses
    is reported with its error, not raised; `on_done` runs after each ticker."""
    outcome = OverseasBars(pl.DataFrame(schema=schemas.OVERSEAS_DAILY_PRICES))

    def one(ticker: tuple[str, str]) -> tuple[str, pl.DataFrame | None, str | None]:
        # An unlisted ticker comes back as (name, None, None): neither bars nor a failure.
        exchange, symbol = ticker
        name = f"{exchange}:{symbol}"
        cached = cache.load(exchange, symbol, start, end)
        if cached is not None:
            outcome.cache_hits += 1
            return name, cached, None
        try:
            frame = fetch_overseas_daily(client, exchange, symbol, start, end)
        except (KisConfigError, CredentialsRejected):
            raise
        except NotListed:
            return name, None, None
        except KisError as exc:
            return name, None, f"{type(exc).__name__}: {exc}"
        cache.save(exchange, symbol, start, end, frame)
        return name, frame, None

    frames = []
    with ThreadPoolExecutor(max_workers=FETCH_WORKERS, thread_name_prefix="overseas") as pool:
        for name, frame, error in pool.map(one, tickers):
            if on_done is not None:
                on_done()
            if error is not None:
                outcome.failures[name] = error
            elif frame is None:
                outcome.unlisted.append(name)
            elif not frame.is_empty():
                frames.append(frame)
    if frames:
        outcome.frame = pl.concat(frames, how="vertical")
    return outcome


def last_closed_day(exchange: str, now: dt.datetime) -> dt.date:
    """The newest weekday (the exchange's own date) whose session has closed at `now`."""
    declared = EXCHANGES.get(exchange, NEW_YORK)
    local = now.astimezone(declared.zone)
    day = local.date() if local.time() >= declared.close else local.date() - dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day
