"""`daily_prices` and `daily_prices_adjusted`: thin Dagster shims over `daily`, `nightly` and
`restate`.

Both are partitioned by KRX weekday (`trading_days`) with a single-run backfill policy, so a
range backfill is one run that plans its chart calls over the whole range. A run of exactly
one partition that is the latest completed session (the nightly schedule) takes the cheap
multi-quote path instead; the run tag `kis/price_source` (`auto`, `chart`, `multi_quote`)
overrides that choice.

Asset functions leave `context` unannotated: with postponed annotations Dagster would see
the string "dg.AssetExecutionContext" instead of the class and reject the definition.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg
import polars as pl

from kis_pipeline.common.clock import now_kst
from kis_pipeline.defs.calendar.runs import run_scope
from kis_pipeline.defs.calendar.sessions import SETTLES, refuse_unsettled
from kis_pipeline.defs.prices import checks
from kis_pipeline.defs.prices.daily import (
    ADJUSTED,
    RAW,
    WriteReport,
    backfill_range,
    client_progress,
    report_metadata,
    write_days,
    write_restatement,
)
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.ingest.daily_chart import ChartCache, TooManyFailures
from kis_pipeline.ingest.nightly_prices import SessionMismatch, fetch_nightly
from kis_pipeline.ingest.reference import (
    Universe,
    latest_session,
    nxt_names,
    open_days,
    previous_trading_day,
    session_final,
)
from kis_pipeline.ingest.restate import boundary_breaks, restate
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.lib import read_ahead
from kis_pipeline.lib.partitions import trading_days
from kis_pipeline.lib.progress import Progress
from kis_pipeline.lib.quality import completeness_severity, no_rejects_result
from kis_pipeline.lib.read_ahead import RunScope
from kis_pipeline.lib.run_context import FIRST_IN_RUN, POOL
from kis_pipeline.warehouse import TABLES, Scope, Warehouse
from kis_pipeline.warehouse.lookups import MissingReference

SOURCE_TAG = "kis/price_source"
SOURCES = ("auto", "chart", "multi_quote")
# `listings` names the delisted stocks of a past day (`_universe`): a backfill that holds it
# runs it first.
REFERENCE_DEPS = [
    dg.AssetDep("symbols"),
    dg.AssetDep("trading_calendar"),
    dg.AssetDep("listings"),
]


def chart_cache(warehouse: Warehouse, market: str = "J") -> ChartCache:
    now = now_kst()
    settled = now.time() >= session_final(market)
    final = now.date() if settled else now.date() - dt.timedelta(days=1)
    return ChartCache(
        warehouse.root / "raw" / "daily_chart",
        as_of=now.date(),
        final_through=final,
        market=market,
    )


def use_multi_quote(
    context: dg.AssetExecutionContext,
    settings: KisSettings,
    warehouse: Warehouse,
    days: Sequence[dt.date],
) -> bool:
    source = context.run.tags.get(SOURCE_TAG, "auto")
    if source not in SOURCES:
        raise dg.Failure(f"run tag {SOURCE_TAG}={source!r}; use one of {', '.join(SOURCES)}")
    if source == "chart" or len(days) != 1:
        return False
    if source == "multi_quote":
        return True
    # The paper environment has no multi-quote (SPEC §16): the chart serves it too.
    if settings.env == "paper":
        return False
    final = session_final(settings.market_code)
    return days[0] == latest_session(warehouse, now_kst(), final=final)


def _universe(scope: RunScope) -> Universe:
    # Prices of the past are of that day's universe: the names delisted since count on the
    # days they traded, once a `listings` snapshot knows them (survivorship).
    # Only part of the market trades on Nextrade: KIS_VENUE=NXT prices that part.
    only = scope.only
    try:
        if scope.settings.venue == "NXT":
            tradable = nxt_names(scope.warehouse)
            only = [s for s in (only or tradable) if s in set(tradable)]
        return Universe(scope.warehouse, only=only, delisted=True)
    except MissingReference as exc:
        raise dg.Failure(str(exc)) from None


def _open_days(wh: Warehouse, days: Sequence[dt.date]) -> set[dt.date]:
    try:
        return open_days(wh, days)
    except MissingReference as exc:
        raise dg.Failure(str(exc)) from None


@dataclass(frozen=True)
class _PriceRun:
    """What both price assets know before their first call: the partition's days, who is
    listed, which days were sessions, and where progress goes."""

    table: str
    settings: KisSettings
    wh: Warehouse
    days: list[dt.date]
    universe: Universe
    open_set: set[dt.date]
    progress: Progress

    @classmethod
    def start(
        cls,
        context: dg.AssetExecutionContext,
        kis: KisResource,
        warehouse: WarehouseResource,
        table: str,
    ) -> _PriceRun:
        scope = run_scope(context, kis, warehouse)
        settings, wh, days = scope.settings, scope.warehouse, list(scope.days)
        refuse_unsettled(table, days)
        # The run's other families fetch while this one's calls and writes interleave.
        read_ahead.begin(context, scope)
        universe = _universe(scope)
        open_set = _open_days(wh, days)
        progress = Progress(scope.progress_dir, table, partitions_total=len(days))
        return cls(table, settings, wh, days, universe, open_set, progress)

    def nightly(self, context: dg.AssetExecutionContext) -> bool:
        """Whether this run is the nightly one, served by the multi-quote."""
        multi = use_multi_quote(context, self.settings, self.wh, self.days)
        return multi and self.days[0] in self.open_set

    def backfill(self, client: KisClient, cache: ChartCache) -> WriteReport:
        return backfill_range(
            client,
            self.wh,
            cache,
            self.universe,
            self.days,
            self.open_set,
            table=self.table,
            progress=self.progress,
        )

    def failed(self, client: KisClient, exc: Exception) -> dg.Failure:
        self.progress.finish(error=str(exc), **client_progress(client))
        return dg.Failure(str(exc))

    def finish(
        self, context: dg.AssetExecutionContext, client: KisClient, report: WriteReport
    ) -> dg.MaterializeResult:
        """Metadata and checks of what the run wrote; a failed symbol fails the run."""
        meta = _metadata(report, client)
        self.progress.finish(failures=report.failures, **client_progress(client))
        _fail_on_symbols(report, meta)
        results = _check_results(
            context,
            client,
            self.wh,
            self.table,
            self.days,
            self.universe,
            self.open_set,
            adjusted=self.table == ADJUSTED,
        )
        return dg.MaterializeResult(metadata=meta, check_results=results)


def _metadata(report: WriteReport, client: KisClient) -> dict[str, dg.MetadataValue]:
    return report_metadata(report, client, trading_days=report.trading_days, symbols=report.symbols)


def _fail_on_symbols(report: WriteReport, meta: dict[str, dg.MetadataValue]) -> None:
    if not report.failures:
        return
    listed = "; ".join(f"{s}: {e}" for s, e in sorted(report.failures.items()))
    raise dg.Failure(
        description=(
            f"{report.table}: {len(report.failures)} symbol(s) failed and keep their stored rows, "
            f"the other symbols were written; rerun the same range to repair them (fetched "
            f"windows are reused). "
            f"{listed}"
        ),
        metadata=meta,
    )


def _check_results(
    context: dg.AssetExecutionContext,
    client: KisClient,
    wh: Warehouse,
    table: str,
    days: Sequence[dt.date],
    universe: Universe,
    open_set: set[dt.date],
    *,
    adjusted: bool,
) -> list[dg.AssetCheckResult]:
    spec = TABLES[table]
    keys = [d.isoformat() for d in days]
    frame = wh.read(table, keys)
    expected = universe.expected(sorted(d for d in days if d in open_set))
    missing, extra = checks.missing_rows(frame, expected, spec.key)
    # Rows on a day KRX was closed; a session whose universe (as restricted) is empty is open.
    unexpected = extra.filter(~pl.col("date").is_in(sorted(open_set)))
    results = [
        checks.result(table, "ohlc_consistent", checks.ohlc_violations(frame, spec.key)),
        checks.result(table, "unique_keys", checks.duplicate_keys(frame, spec.key)),
        checks.result(
            table,
            "complete",
            pl.concat([missing, unexpected], how="vertical"),
            severity=completeness_severity(context),
            missing=missing.height,
            rows_on_closed_days=unexpected.height,
            expected=expected.height,
        ),
        no_rejects_result(context, table, client),
    ]
    if adjusted:
        latest = latest_session(wh, now_kst())
        raw = wh.read(RAW, keys)
        before = _day_before(wh, days)
        pairs = frame
        if before is not None:
            pairs = pl.concat([wh.read(table, [before.isoformat()]), frame], how="vertical")
        offending = [checks.factor_breaks(pairs, raw).select("date", "symbol")]
        # Prices are adjusted as of the fetch: on the latest session the factor must be 1.
        if latest is not None and latest in days:
            offending.append(checks.newest_factor_not_one(frame).select("date", "symbol"))
        results.append(
            checks.result(table, "adj_factor_continuous", pl.concat(offending, how="vertical"))
        )
    return results


def _day_before(wh: Warehouse, days: Sequence[dt.date]) -> dt.date | None:
    try:
        return previous_trading_day(wh, min(days))
    except MissingReference:
        return None


@dg.asset(
    name=RAW,
    group_name="prices",
    partitions_def=trading_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=REFERENCE_DEPS,
    pool=POOL,
    op_tags=FIRST_IN_RUN,
    kinds={"parquet"},
    metadata=SETTLES,
    check_specs=checks.table_specs(RAW),
    description=(
        "One row per (date, symbol): raw (unadjusted) daily OHLCV and traded value in KRW of "
        "every listed symbol, from the daily chart (100 days a call) or, on the nightly run, "
        "the 30-symbol multi-quote cross-checked against the chart."
    ),
)
def daily_prices(
    context,  # unannotated on purpose: see the module docstring
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    run = _PriceRun.start(context, kis, warehouse, RAW)
    with kis.client() as client:
        try:
            if run.nightly(context):
                report = _nightly_raw(client, run, run.days[0])
            else:
                report = run.backfill(client, chart_cache(run.wh, run.settings.market_code))
        except (SessionMismatch, TooManyFailures) as exc:
            raise run.failed(client, exc) from None
        return run.finish(context, client, report)


def _nightly_raw(client: KisClient, run: _PriceRun, day: dt.date) -> WriteReport:
    wh, universe, progress = run.wh, run.universe, run.progress
    symbols = universe.on(day)
    previous = None
    try:
        before = previous_trading_day(wh, day)
        previous = wh.read(RAW, [before.isoformat()]).select("symbol", "close")
    except MissingReference:
        pass
    progress.update(force=True, calls_planned=2 * -(-len(symbols) // 30), symbols=len(symbols))
    outcome = fetch_nightly(
        client, symbols, day, previous_close=previous, market=run.settings.market_code
    )
    report = WriteReport(RAW, trading_days=1, symbols=len(symbols))
    report.calls_planned = outcome.calls_planned
    report.failures = outcome.failures
    report.notes = {
        "source": "multi_quote",
        "cross_checked": outcome.cross_checked,
        "corporate_action_suspects": outcome.suspects,
        "unknown_symbols": outcome.unknown,
    }
    scope = Scope.of(universe.only).keeping(outcome.failures)
    write_days(wh, RAW, outcome.frame, [day], report, scope=scope, progress=progress)
    return report


@dg.asset(
    name=ADJUSTED,
    group_name="prices",
    partitions_def=trading_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[dg.AssetDep(RAW), *REFERENCE_DEPS],
    pool=POOL,
    op_tags=FIRST_IN_RUN,
    kinds={"parquet"},
    metadata=SETTLES,
    check_specs=checks.table_specs(ADJUSTED, adjusted=True),
    description=(
        "One row per (date, symbol): split-adjusted daily OHLCV as KIS computes it as of the "
        "fetch, with adj_factor = adjusted close / raw close; earlier partitions of a symbol "
        "are rewritten when a split changes its basis."
    ),
)
def daily_prices_adjusted(
    context,  # unannotated on purpose: see the module docstring
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    run = _PriceRun.start(context, kis, warehouse, ADJUSTED)
    wh, days = run.wh, run.days
    cache = chart_cache(wh, run.settings.market_code)
    cache.prune_adjusted()
    with kis.client() as client:
        try:
            if run.nightly(context):
                report = _nightly_adjusted(wh, run.universe, days[0], run.progress)
            else:
                report = run.backfill(client, cache)
        except TooManyFailures as exc:
            raise run.failed(client, exc) from None
        written = wh.read(ADJUSTED, [d.isoformat() for d in days])
        raw = wh.read(RAW, [d.isoformat() for d in days])
        breaks = boundary_breaks(wh, written, raw)
        restated = restate(client, wh, breaks, before=min(days), market=cache.market)
        write_restatement(wh, restated)
        report.failures.update(restated.failures)
        report.notes["restated_symbols"] = restated.symbols
        report.notes["restated_partitions"] = restated.partitions
        return run.finish(context, client, report)


def _nightly_adjusted(
    wh: Warehouse, universe: Universe, day: dt.date, progress: Progress
) -> WriteReport:
    """The latest session adjusted as of itself is its raw bar with factor 1: no call."""
    raw = wh.read(RAW, [day.isoformat()])
    if raw.is_empty():
        raise dg.Failure(f"daily_prices has no rows for {day}; materialize it first")
    frame = raw.with_columns(adj_factor=pl.lit(1.0)).select(list(TABLES[ADJUSTED].schema))
    report = WriteReport(ADJUSTED, trading_days=1, symbols=raw.height)
    report.notes["source"] = "daily_prices"
    write_days(
        wh,
        ADJUSTED,
        frame,
        [day],
        report,
        listed=universe.on,
        scope=Scope.of(universe.only),
        progress=progress,
    )
    return report
