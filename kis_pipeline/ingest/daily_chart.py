"""Call planning and fetching for the daily chart (SPEC §7.3, §6.2), outside Dagster.

A range of D trading days is cut into windows of at most 100 trading days (the chart's rows per
call), so one symbol costs exactly ceil(D / 100) calls per price kind instead of one per day.
Windows are cut from the calendar, not discovered by walking, so the plan is known before the
first call and the progress bar can show calls made against it.

Every fetched window is kept as a small Parquet file under `$KIS_WAREHOUSE/raw/daily_chart/`:

    original/<symbol>/<start>_<end>.parquet            raw bars (never change once complete)
    adjusted/asof=<YYYY-MM-DD>/<symbol>/<start>_<end>.parquet   adjusted as of that day

so a rerun after a failure fetches only the windows that failed. A window is kept only when it
reaches its last day and that day's session is final (after 18:00 KST), none of its records
was rejected (a rerun must ask again for what KIS sent broken), and adjusted windows only for
the day they were fetched, since a later split changes them. A kept window whose columns are
not the table's any more (written by an older version) is fetched again.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.prices import DAILY_CHART_PAGE_ROWS, fetch_daily_chart
from kis_pipeline.kis.errors import CredentialsRejected, KisConfigError, KisError

# Enough requests in flight to keep the shared limiter busy when each call takes longer than
# its slot (real KIS answers in ~50-100 ms, a slot at 17/s is ~59 ms).
FETCH_WORKERS = 4
# A run whose first calls all fail is misconfigured, not unlucky: stop instead of trying
# every symbol.
ABORT_AFTER_CONSECUTIVE_FAILURES = 25


@dataclass(frozen=True)
class Window:
    """Consecutive trading days fetched with one chart call."""

    start: dt.date
    end: dt.date
    days: tuple[dt.date, ...]

    @property
    def name(self) -> str:
        return f"{self.start:%Y%m%d}_{self.end:%Y%m%d}"


def plan_windows(days: Sequence[dt.date], size: int = DAILY_CHART_PAGE_ROWS) -> list[Window]:
    """`days` (trading days, any order) cut into windows of at most `size`, oldest first."""
    ordered = sorted(set(days))
    return [
        Window(chunk[0], chunk[-1], tuple(chunk))
        for chunk in (ordered[i : i + size] for i in range(0, len(ordered), size))
    ]


def read_cached(path: Path) -> pl.DataFrame | None:
    """The frame kept at `path`, or None when there is none (a damaged file is dropped)."""
    if not path.is_file():
        return None
    try:
        return pl.read_parquet(path)
    except (OSError, pl.exceptions.ComputeError):
        # A damaged cache file is only a lost shortcut: fetch again.
        path.unlink(missing_ok=True)
        return None


def write_cached(path: Path, frame: pl.DataFrame) -> None:
    """Write `frame` to `path` through a temporary file, so a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    frame.write_parquet(tmp)
    os.replace(tmp, path)


class ChartCache:
    """Fetched chart windows on disk, reused by reruns (see the module docstring)."""

    def __init__(
        self,
        root: Path,
        *,
        as_of: dt.date,
        final_through: dt.date | None = None,
        market: str = "J",
    ) -> None:
        # Each venue's bars apart (KRX's where they always were).
        self.market = market
        self.root = Path(root) if market == "J" else Path(root) / f"venue={market}"
        self.as_of = as_of
        # Bars after this day may still change (a session in progress): never kept.
        self.final_through = final_through or as_of

    def _path(self, symbol: str, window: Window, *, adjusted: bool) -> Path:
        if adjusted:
            base = self.root / "adjusted" / f"asof={self.as_of.isoformat()}"
        else:
            base = self.root / "original"
        return base / symbol / f"{window.name}.parquet"

    def load(self, symbol: str, window: Window, *, adjusted: bool) -> pl.DataFrame | None:
        path = self._path(symbol, window, adjusted=adjusted)
        frame = read_cached(path)
        schema = schemas.DAILY_PRICES_ADJUSTED if adjusted else schemas.DAILY_PRICES
        if frame is not None and frame.schema != schema:
            path.unlink(missing_ok=True)
            return None
        return frame

    def save(self, symbol: str, window: Window, frame: pl.DataFrame, *, adjusted: bool) -> None:
        if frame.is_empty() or frame["date"].max() != window.end:
            return
        if window.end > self.final_through:
            return
        write_cached(self._path(symbol, window, adjusted=adjusted), frame)

    def prune_adjusted(self) -> None:
        """Drop adjusted windows fetched on earlier days (a split may have changed them)."""
        adjusted = self.root / "adjusted"
        if not adjusted.is_dir():
            return
        keep = f"asof={self.as_of.isoformat()}"
        for folder in adjusted.iterdir():
            if folder.name != keep:
                shutil.rmtree(folder, ignore_errors=True)


@dataclass
class FetchOutcome:
    """What fetching one window for many symbols produced."""

    frames: list[pl.DataFrame] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    cache_hits: int = 0


class TooManyFailures(KisError):
    """Every recent symbol failed: the run stops instead of trying the rest."""

    retryable = False


def fetch_window(
    client: KisClient,
    cache: ChartCache,
    symbols: Sequence[str],
    window: Window,
    *,
    adjusted: bool,
    original: Callable[[str], pl.DataFrame | None] | None = None,
    on_done: Callable[[], None] | None = None,
) -> FetchOutcome:
    """One window for every symbol (cache first), in parallel; failures are collected per
    symbol with their KIS error, not raised, so one bad symbol does not stop the others.

    `original(symbol)` supplies the raw bars of the window for the adjusted frame's
    `adj_factor` (the raw cache, normally); without them the raw window is fetched too.
    """
    outcome = FetchOutcome()
    consecutive = 0

    def one(symbol: str) -> tuple[str, pl.DataFrame | None, str | None, bool]:
        cached = cache.load(symbol, window, adjusted=adjusted)
        if cached is not None:
            return symbol, cached, None, True
        rejected = _rejected(client, symbol)
        try:
            if adjusted:
                raw = original(symbol) if original is not None else None
                if raw is None:
                    raw = _raw_window(client, cache, symbol, window)
                frame = fetch_daily_chart(
                    client,
                    symbol,
                    window.start,
                    window.end,
                    adjusted=True,
                    market=cache.market,
                    original=raw,
                )
            else:
                frame = fetch_daily_chart(
                    client, symbol, window.start, window.end, adjusted=False, market=cache.market
                )
        except (KisConfigError, CredentialsRejected):
            # Nothing another symbol could do better: the settings are wrong.
            raise
        except KisError as exc:
            return symbol, None, f"{type(exc).__name__}: {exc}", False
        if _rejected(client, symbol) == rejected:
            cache.save(symbol, window, frame, adjusted=adjusted)
        return symbol, frame, None, False

    pool = ThreadPoolExecutor(max_workers=FETCH_WORKERS, thread_name_prefix="chart")
    try:
        for symbol, frame, error, hit in pool.map(one, symbols):
            if on_done is not None:
                on_done()
            if error is not None:
                outcome.failures[symbol] = error
                consecutive += 1
                if consecutive >= ABORT_AFTER_CONSECUTIVE_FAILURES and not outcome.frames:
                    raise TooManyFailures(
                        f"the first {consecutive} symbols of window {window.name} all failed; "
                        f"last error for {symbol}: {error}"
                    )
                continue
            consecutive = 0
            outcome.cache_hits += int(hit)
            if frame is not None and not frame.is_empty():
                outcome.frames.append(frame)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return outcome


def _raw_window(client: KisClient, cache: ChartCache, symbol: str, window: Window) -> pl.DataFrame:
    cached = cache.load(symbol, window, adjusted=False)
    if cached is not None:
        return cached
    rejected = _rejected(client, symbol)
    frame = fetch_daily_chart(
        client, symbol, window.start, window.end, adjusted=False, market=cache.market
    )
    if _rejected(client, symbol) == rejected:
        cache.save(symbol, window, frame, adjusted=False)
    return frame


def _rejected(client: KisClient, symbol: str) -> int:
    """How many of `symbol`'s records the client has refused so far (each symbol is fetched by
    one thread at a time, so a change across a fetch is that fetch's)."""
    log = getattr(client, "rejects", None)
    return log.count(symbol=symbol) if log is not None else 0


def concat(frames: Sequence[pl.DataFrame], schema: pl.Schema) -> pl.DataFrame:
    if not frames:
        return pl.DataFrame(schema=schema)
    return pl.concat([f.select(list(schema)) for f in frames], how="vertical")
