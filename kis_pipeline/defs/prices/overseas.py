"""`overseas_daily_prices`: daily bars of a configured list of overseas tickers.

Partitioned by `overseas_days` (weekdays; each row's date is its exchange's own date). One run
covers its whole range: each ticker's range is walked back with `BYMD`, 100 rows a call (SPEC
§13.3), the fetched frames are kept under `$KIS_WAREHOUSE/raw/overseas_daily/` for reruns, and
the rows are split into one partition per date across all exchanges. Exchange holidays are not
known in advance (there is no overseas calendar here), so a weekday without a bar is simply
absent; the completeness check only warns about it.

Asset functions leave `context` unannotated: with postponed annotations Dagster would see
the string "dg.AssetExecutionContext" instead of the class and reject the definition.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import polars as pl

from kis_pipeline.defs.calendar.sessions import now_kst
from kis_pipeline.defs.prices import checks
from kis_pipeline.defs.prices.chart import read_cached, write_cached
from kis_pipeline.defs.prices.daily import (
    WriteReport,
    client_progress,
    report_metadata,
    write_days,
)
from kis_pipeline.defs.prices.reference import newest_nonempty
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.kis import schemas
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.overseas import OVERSEAS_DAILY_PAGE_ROWS, fetch_overseas_daily
from kis_pipeline.kis.errors import CredentialsRejected, KisConfigError, KisError
from kis_pipeline.lib.partitions import overseas_days
from kis_pipeline.lib.progress import Progress
from kis_pipeline.lib.run_context import POOL, partition_days, progress_dir
from kis_pipeline.warehouse import TABLES, Scope, Warehouse

TABLE = "overseas_daily_prices"
FETCH_WORKERS = 4

# "EXCD:SYMBOL" (quote exchange codes, SPEC §18.16): large US, Hong Kong and Tokyo names.
DEFAULT_TICKERS = (
    "NAS:AAPL",
    "NAS:MSFT",
    "NAS:NVDA",
    "NAS:AMZN",
    "NAS:TSLA",
    "NYS:JPM",
    "NYS:KO",
    "NYS:XOM",
    "NYS:IBM",
    "AMS:SPY",
    "AMS:GLD",
    "AMS:IWM",
    "HKS:00700",
    "HKS:09988",
    "HKS:00005",
    "TSE:7203",
    "TSE:6758",
    "TSE:9984",
)


NEW_YORK = (zoneinfo.ZoneInfo("America/New_York"), dt.time(16, 0))
# Each exchange's time zone and closing time: a weekday's bar is due once its exchange has
# closed that (local) day. An exchange not listed is taken as New York, the last to close.
LOCAL_CLOSE: dict[str, tuple[zoneinfo.ZoneInfo, dt.time]] = {
    **dict.fromkeys(("NAS", "NYS", "AMS", "BAQ", "BAY", "BAA"), NEW_YORK),
    "HKS": (zoneinfo.ZoneInfo("Asia/Hong_Kong"), dt.time(16, 10)),
    **dict.fromkeys(
        ("SHS", "SZS", "SHI", "SZI"), (zoneinfo.ZoneInfo("Asia/Shanghai"), dt.time(15))
    ),
    "TSE": (zoneinfo.ZoneInfo("Asia/Tokyo"), dt.time(15, 30)),
    **dict.fromkeys(("HSX", "HNX"), (zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh"), dt.time(15))),
}


# Run config of the asset (`tickers`), declared as a schema rather than a `dg.Config` class,
# which postponed annotations would hide from Dagster.
CONFIG_SCHEMA = {
    "tickers": dg.Field(
        [str],
        default_value=list(DEFAULT_TICKERS),
        description="Tickers to fetch, as EXCD:SYMBOL (e.g. NAS:AAPL).",
    )
}


def parse_tickers(tickers: Sequence[str]) -> list[tuple[str, str]]:
    parsed = []
    for item in tickers:
        exchange, sep, symbol = item.strip().partition(":")
        if not sep or not exchange or not symbol:
            raise dg.Failure(f"overseas ticker {item!r} is not EXCD:SYMBOL (e.g. NAS:AAPL)")
        parsed.append((exchange.upper(), symbol.upper()))
    return list(dict.fromkeys(parsed))


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


def backfill_overseas(
    client: KisClient,
    warehouse: Warehouse,
    tickers: Sequence[tuple[str, str]],
    days: Sequence[dt.date],
    *,
    progress: Progress,
) -> WriteReport:
    report = WriteReport(TABLE, trading_days=len(days), symbols=len(tickers))
    report.calls_planned = planned_calls(len(tickers), len(days))
    progress.update(force=True, calls_planned=report.calls_planned, symbols=len(tickers))
    cache = RangeCache(warehouse.root / "raw" / "overseas_daily")
    start, end = min(days), max(days)

    def one(ticker: tuple[str, str]) -> tuple[str, pl.DataFrame | None, str | None]:
        exchange, symbol = ticker
        name = f"{exchange}:{symbol}"
        cached = cache.load(exchange, symbol, start, end)
        if cached is not None:
            report.cache_hits += 1
            return name, cached, None
        try:
            frame = fetch_overseas_daily(client, exchange, symbol, start, end)
        except (KisConfigError, CredentialsRejected):
            raise
        except KisError as exc:
            return name, None, f"{type(exc).__name__}: {exc}"
        cache.save(exchange, symbol, start, end, frame)
        return name, frame, None

    frames = []
    with ThreadPoolExecutor(max_workers=FETCH_WORKERS, thread_name_prefix="overseas") as pool:
        for name, frame, error in pool.map(one, tickers):
            progress.update(**client_progress(client))
            if error is not None:
                report.failures[name] = error
            elif frame is not None and not frame.is_empty():
                frames.append(frame)
    frame = (
        pl.concat(frames, how="vertical")
        if frames
        else pl.DataFrame(schema=schemas.OVERSEAS_DAILY_PRICES)
    )
    # A ticker that failed keeps its stored bars (matched by symbol: the configured tickers do
    # not share one across exchanges).
    failed = {name.split(":", 1)[1] for name in report.failures}
    scope = Scope.of(keep=failed)
    write_days(warehouse, TABLE, frame, days, report, scope=scope, progress=progress)
    return report


def last_closed_day(exchange: str, now: dt.datetime) -> dt.date:
    """The newest weekday (the exchange's own date) whose session has closed at `now`."""
    zone, close = LOCAL_CLOSE.get(exchange, NEW_YORK)
    local = now.astimezone(zone)
    day = local.date() if local.time() >= close else local.date() - dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def overseas_checks(
    warehouse: Warehouse,
    days: Sequence[dt.date],
    tickers: Sequence[tuple[str, str]],
    *,
    now: dt.datetime | None = None,
) -> list[dg.AssetCheckResult]:
    """The checks of a run over `days`. A (day, ticker) is due once the ticker's exchange has
    closed that day: the nightly run at 22:00 UTC fetches a day every exchange has closed,
    which a UTC date alone would count as not due until the next day."""
    spec = TABLES[TABLE]
    now = now or now_kst()
    closed = {exchange: last_closed_day(exchange, now) for exchange, _ in tickers}
    # The newest weekday every configured exchange has closed.
    expected_newest = min(closed.values(), default=None)
    frame = warehouse.read(TABLE, [d.isoformat() for d in days])
    expected = pl.DataFrame(
        [(d, e, s) for d in days for e, s in tickers if d <= closed[e]],
        schema={"date": pl.Date, "exchange": pl.String, "symbol": pl.String},
        orient="row",
    )
    missing, _ = checks.missing_rows(frame, expected, spec.key)
    return [
        checks.result(TABLE, "ohlc_consistent", checks.ohlc_violations(frame, spec.key)),
        checks.result(TABLE, "unique_keys", checks.duplicate_keys(frame, spec.key)),
        # Exchange holidays are not modelled: a missing weekday is a warning, not an error.
        checks.result(
            TABLE,
            "complete",
            missing,
            severity=dg.AssetCheckSeverity.WARN,
            expected=expected.height,
        ),
        checks.freshness_result(TABLE, newest_nonempty(warehouse, TABLE), expected_newest, days),
    ]


@dg.asset(
    name=TABLE,
    group_name="prices",
    partitions_def=overseas_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=POOL,
    kinds={"parquet"},
    config_schema=CONFIG_SCHEMA,
    check_specs=[
        checks.spec(TABLE, "ohlc_consistent", "Every bar has low <= open, close <= high."),
        checks.spec(TABLE, "unique_keys", "No two rows share a key."),
        checks.spec(
            TABLE, "complete", "Every configured ticker has a bar on every weekday (warns)."
        ),
        checks.spec(TABLE, "fresh", "The newest date is the last completed weekday."),
    ],
    description=(
        "One row per (exchange date, exchange, symbol): daily bars in local currency of a "
        "configured list of overseas tickers (default: large US, Hong Kong and Tokyo names), "
        "100 days a call."
    ),
)
def overseas_daily_prices(
    context,  # unannotated on purpose: see the module docstring
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    wh = warehouse.warehouse()
    days = partition_days(context)
    tickers = parse_tickers(context.op_config["tickers"])
    progress = Progress(progress_dir(context), TABLE, partitions_total=len(days))
    with kis.client() as client:
        report = backfill_overseas(client, wh, tickers, days, progress=progress)
        progress.finish(failures=report.failures, **client_progress(client))
        meta = report_metadata(report, client, tickers=len(tickers))
    if report.failures:
        listed = "; ".join(f"{s}: {e}" for s, e in sorted(report.failures.items()))
        raise dg.Failure(
            description=f"{TABLE}: {len(report.failures)} ticker(s) failed: {listed}",
            metadata=meta,
        )
    return dg.MaterializeResult(metadata=meta, check_results=overseas_checks(wh, days, tickers))
