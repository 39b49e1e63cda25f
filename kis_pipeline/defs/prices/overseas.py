"""`overseas_daily_prices`: daily bars of a configured list of overseas tickers.

Partitioned by `overseas_days` (weekdays; each row's date is its exchange's own date). One run
covers its whole range: each ticker's range is walked back with `BYMD`, 100 rows a call (SPEC
§13.3), the fetched frames are kept under `$KIS_WAREHOUSE/raw/overseas_daily/` for reruns, and
the rows are split into one partition per date across all exchanges. A weekday without a bar
is simply absent: the completeness check judges it against `overseas_calendar` (an error on a
day the exchange was open), and only warns where no calendar is stored.

Asset functions leave `context` unannotated: with postponed annotations Dagster would see
the string "dg.AssetExecutionContext" instead of the class and reject the definition.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import dagster as dg
import polars as pl

from kis_pipeline.common.clock import now_kst
from kis_pipeline.common.overseas_exchanges import EXCHANGES
from kis_pipeline.defs.prices import checks
from kis_pipeline.defs.prices.daily import (
    WriteReport,
    client_progress,
    report_metadata,
    write_days,
)
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.ingest.overseas_prices import (
    RangeCache,
    fetch_overseas,
    last_closed_day,
    planned_calls,
)
from kis_pipeline.kis.client import KisClient
from kis_pipeline.lib.partitions import overseas_days
from kis_pipeline.lib.progress import Progress
from kis_pipeline.lib.run_context import OWN_TICKERS, POOL, partition_days, progress_dir
from kis_pipeline.warehouse import TABLES, Scope, Warehouse

TABLE = "overseas_daily_prices"
CALENDAR = "overseas_calendar"

# "EXCD:SYMBOL" (quote exchange codes, SPEC §18.16): large US, Hong Kong and Tokyo names, and
# one of each other exchange (Shanghai, Shenzhen and their composite indices, Ho Chi Minh, Hanoi).
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
    "SHS:600519",
    "SHI:000001",
    "SZS:000858",
    "SZI:399001",
    "HSX:VNM",
    "HNX:PVS",
)


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
    """("EXCD", "SYMBOL") pairs; a malformed item or an exchange §13.3 does not serve is one
    line, before any call."""
    parsed = []
    for item in tickers:
        exchange, sep, symbol = item.strip().partition(":")
        if not sep or not exchange or not symbol:
            raise dg.Failure(f"overseas ticker {item!r} is not EXCD:SYMBOL (e.g. NAS:AAPL)")
        if exchange.upper() not in EXCHANGES:
            raise dg.Failure(
                f"overseas ticker {item!r}: unknown exchange {exchange!r}; "
                f"use one of {', '.join(EXCHANGES)}"
            )
        parsed.append((exchange.upper(), symbol.upper()))
    return list(dict.fromkeys(parsed))


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
    fetched = fetch_overseas(
        client,
        RangeCache(warehouse.root / "raw" / "overseas_daily"),
        tickers,
        min(days),
        max(days),
        on_done=lambda: progress.update(**client_progress(client)),
    )
    report.cache_hits = fetched.cache_hits
    if fetched.unlisted:
        raise dg.Failure(
            f"{TABLE}: {', '.join(sorted(fetched.unlisted))} not listed there (KIS knows no "
            "such ticker on that exchange); fix the tickers config, nothing was written"
        )
    report.failures.update(fetched.failures)
    # A ticker that failed keeps its stored bars (matched by symbol: the configured tickers do
    # not share one across exchanges).
    failed = {name.split(":", 1)[1] for name in report.failures}
    scope = Scope.of(keep=failed)
    write_days(warehouse, TABLE, fetched.frame, days, report, scope=scope, progress=progress)
    return report


def expected_bars(
    warehouse: Warehouse,
    days: Sequence[dt.date],
    tickers: Sequence[tuple[str, str]],
    now: dt.datetime,
) -> pl.DataFrame:
    """(date, exchange, symbol, judged) of every bar due: a weekday the ticker's exchange has
    closed, and open by `overseas_calendar` where it covers the day (`judged`); a day the
    calendar does not cover is expected too, unjudged."""
    closed = {exchange: last_closed_day(exchange, now) for exchange, _ in tickers}
    due = pl.DataFrame(
        [(d, e, s) for d in days for e, s in tickers if d <= closed[e]],
        schema={"date": pl.Date, "exchange": pl.String, "symbol": pl.String},
        orient="row",
    )
    years = sorted({str(d.year) for d in days})
    calendar = warehouse.read(CALENDAR, years).select("date", "exchange", "is_open")
    return (
        due.join(calendar, on=["date", "exchange"], how="left")
        .filter(pl.col("is_open").is_null() | pl.col("is_open"))
        .select("date", "exchange", "symbol", judged=pl.col("is_open").is_not_null())
    )


def overseas_checks(
    warehouse: Warehouse,
    days: Sequence[dt.date],
    tickers: Sequence[tuple[str, str]],
    *,
    now: dt.datetime | None = None,
) -> list[dg.AssetCheckResult]:
    """The checks of a run over `days`. A (day, ticker) is due once the ticker's exchange has
    closed that day: the nightly run at 22:00 UTC fetches a day every exchange has closed,
    which a UTC date alone would count as not due until the next day. A bar missing on a day
    `overseas_calendar` calls open is an error; where no calendar is stored, a holiday cannot
    be told from a hole, so a missing bar only warns."""
    spec = TABLES[TABLE]
    expected = expected_bars(warehouse, days, tickers, now or now_kst())
    frame = warehouse.read(TABLE, [d.isoformat() for d in days])
    missing, _ = checks.missing_rows(frame, expected.drop("judged"), spec.key)
    missing = missing.join(expected, on=spec.key, how="left")
    judged = missing.filter(pl.col("judged")).height
    severity = dg.AssetCheckSeverity.ERROR if judged else dg.AssetCheckSeverity.WARN
    return [
        checks.result(TABLE, "ohlc_consistent", checks.ohlc_violations(frame, spec.key)),
        checks.result(TABLE, "unique_keys", checks.duplicate_keys(frame, spec.key)),
        checks.result(
            TABLE,
            "complete",
            missing,
            severity=severity,
            expected=expected.height,
            missing_on_open_days=judged,
            missing_without_calendar=missing.height - judged,
        ),
    ]


@dg.asset(
    name=TABLE,
    group_name="prices",
    partitions_def=overseas_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=POOL,
    kinds={"parquet"},
    metadata={OWN_TICKERS: "true"},
    # Ordering only: a backfill fills the calendar first, so the completeness check can judge.
    # Its years are in Asia/Seoul and these days in UTC, which no time-window mapping joins.
    deps=[dg.AssetDep(CALENDAR, partition_mapping=dg.AllPartitionMapping())],
    config_schema=CONFIG_SCHEMA,
    check_specs=[
        checks.spec(TABLE, "ohlc_consistent", "Every bar has low <= open, close <= high."),
        checks.spec(TABLE, "unique_keys", "No two rows share a key."),
        checks.spec(
            TABLE,
            "complete",
            "Every configured ticker has a bar on every day overseas_calendar calls open "
            "(warns where no calendar is stored).",
        ),
    ],
    description=(
        "One row per (exchange date, exchange, symbol): daily bars in local currency of a "
        "configured list of overseas tickers (default: large US, Hong Kong and Tokyo names and "
        "one of each Shanghai, Shenzhen and Vietnam market), "
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
