"""The asset factory of the daily trends: from one `TrendAsset` declaration (a `SymbolTrend`, a
nightly time and the table's own rules), the date-partitioned asset, its checks, its job and
its schedule.

A family is keyed by symbol (the universe of each day), by market (the family's fixed keys,
every one on every session; `KIS_SYMBOLS` does not narrow it) or by a watchlist setting (the
codes of `KIS_ETF_SYMBOLS`, every one on every session, not narrowed either; a run replaces
only their rows, so a code dropped from the list keeps what it had; an empty list skips the
run in one line). An undated endpoint (`SymbolTrend.dated` false) answers one page of its
newest sessions: the days older than any page reached are skipped in one line, not written.
A run plans its calls before the first one (the days to fetch x the keys, one walk per key
over the whole range, `ingest.symbol_trends`), skips the days older than KIS keeps (one line,
no call, no write), fetches, and replaces its partitions:
a closed weekday becomes an empty partition without a call, a run limited to some symbols
(`KIS_SYMBOLS`, `backfill --symbols`) replaces only their rows, and a symbol KIS rejects keeps
what it had and fails the run once the others are written. A record that breaks the table's
rules is never stored: it lands in `rest_rejects` and fails `<table>_no_rejects`.

Checks: `<table>_unique_keys`, `<table>_complete` (every key on every session the data or the
calendar says was open; WARN under `--allow-incomplete`), `<table>_no_rejects`,
and the declaration's row rules (`<table>_<rule>`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg
import polars as pl

from kis_pipeline.common.clock import today_kst
from kis_pipeline.defs.calendar.freshness import NIGHTLY_FRESHNESS, freshness_check
from kis_pipeline.defs.calendar.runs import DailyFetch, daily_run, run_scope
from kis_pipeline.defs.calendar.sessions import SETTLES, DayPlan, resolve_days
from kis_pipeline.defs.calendar.writing import (
    fail_rejected,
    report_calls,
    report_written,
    run_metadata,
    skipped,
    skipped_in_paper,
    write_days,
)
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.ingest.reference import Universe
from kis_pipeline.ingest.symbol_trends import TrendPlan, fetch_trend, plan_calls
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints._trend import SymbolTrend
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.lib import read_ahead
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.lib.partitions import trading_days
from kis_pipeline.lib.progress import Progress
from kis_pipeline.lib.quality import (
    COMPLETE,
    check_spec,
    completeness_severity,
    no_rejects_result,
    no_rejects_spec,
)
from kis_pipeline.lib.read_ahead import RunScope
from kis_pipeline.lib.run_context import POOL
from kis_pipeline.lib.schedules import asset_day_schedule
from kis_pipeline.warehouse import Scope, Warehouse
from kis_pipeline.warehouse.lookups import MissingReference

GROUP = "market_activity"
# The longest run, in weekday partitions: about a year (see `defs.flows.assets`).
RUN_WEEKDAYS = 261


@dataclass(frozen=True)
class RowRule:
    """A property every stored row must have (`expr` true), checked after the write."""

    description: str
    expr: pl.Expr


@dataclass(frozen=True)
class Watchlist:
    """The keys of a family that a setting names rather than the universe lists: `codes` reads
    them from the settings, `setting` is the variable and `what` one key (\"ETF\"); `example`,
    a code to show when the setting is unset and the run is skipped."""

    setting: str
    what: str
    codes: Callable[[KisSettings], tuple[str, ...]]
    example: str = ""


@dataclass(frozen=True)
class TrendAsset:
    """One family as an asset: the endpoint's declaration, when it runs, and its row rules;
    `watchlist` when a setting names its keys; `source` where the endpoint is documented when
    that is not a SPEC section of its own (the official samples)."""

    trend: SymbolTrend
    cron: str
    rules: Mapping[str, RowRule] = field(default_factory=dict)
    watchlist: Watchlist | None = None
    source: str = ""

    @property
    def table(self) -> str:
        return self.trend.table

    @property
    def key(self) -> str:
        return self.trend.key

    @property
    def by_symbol(self) -> bool:
        return not self.trend.keys and self.watchlist is None

    @property
    def documented(self) -> str:
        return self.source or f"SPEC {self.trend.section}"


@dataclass(frozen=True)
class FixedKeys:
    """The keys of a family keyed by market: every one of them on every session."""

    keys: tuple[str, ...]
    column: str

    def on(self, day: dt.date) -> list[str]:
        return list(self.keys)

    def expected(self, sessions: Sequence[dt.date]) -> pl.DataFrame:
        days = pl.DataFrame({"date": list(sessions)}, schema={"date": pl.Date})
        return days.join(pl.DataFrame({self.column: list(self.keys)}), how="cross")


@dataclass(frozen=True)
class TrendDefinitions:
    asset: dg.AssetsDefinition
    freshness: dg.AssetChecksDefinition
    job: dg.UnresolvedAssetJobDefinition
    schedule: dg.ScheduleDefinition


def check_specs(declared: TrendAsset) -> list[dg.AssetCheckSpec]:
    table = declared.table
    every = "Every listed symbol" if declared.by_symbol else f"Every {_key_name(declared)}"
    each = declared.trend.each
    every += f" (and each {each.column})" if each else ""
    return [
        check_spec(table, "unique_keys", f"No ({', '.join(declared.trend.columns)}) twice."),
        check_spec(table, COMPLETE, f"{every} has a row on every session."),
        no_rejects_spec(table),
        *(check_spec(table, name, rule.description) for name, rule in declared.rules.items()),
    ]


def check_results(
    context: dg.AssetExecutionContext,
    declared: TrendAsset,
    frame: pl.DataFrame,
    expected: pl.DataFrame,
    failures: dict[str, str],
    client: KisClient | None,
) -> list[dg.AssetCheckResult]:
    table, columns = declared.table, list(declared.trend.columns)
    pairs = frame.select(columns)
    dupes = pairs.filter(pairs.is_duplicated())
    missing = expected.join(pairs, on=columns, how="anti").sort(columns)
    results = [
        dg.AssetCheckResult(
            check_name=f"{table}_unique_keys",
            passed=dupes.is_empty(),
            metadata=check_metadata(dupes),
        ),
        dg.AssetCheckResult(
            check_name=f"{table}_{COMPLETE}",
            passed=missing.is_empty(),
            severity=completeness_severity(context),
            metadata=check_metadata(missing, expected=expected.height, failures=failures),
        ),
        no_rejects_result(context, table, client),
    ]
    for name, rule in declared.rules.items():
        broken = frame.filter(~rule.expr.fill_null(True)).select(columns)
        results.append(
            dg.AssetCheckResult(
                check_name=f"{table}_{name}",
                passed=broken.is_empty(),
                metadata=check_metadata(broken),
            )
        )
    return results


def _fetch(
    client: KisClient, declared: TrendAsset, plan: TrendPlan, progress: Progress
) -> tuple[pl.DataFrame, dict[str, str]]:
    progress.update(force=True, calls_planned=plan.calls)
    return fetch_trend(
        client,
        declared.trend,
        plan,
        on_key=lambda failures: report_calls(progress, client, failures=failures),
    )


def _sessions(days: DayPlan, frame: pl.DataFrame, client: KisClient, table: str) -> list[dt.date]:
    """The sessions among the run's days: a day KIS sent records for, even refused ones,
    was published."""
    present = set(frame["date"].unique().to_list())
    present |= {r.date for r in client.rejects.records(table=table) if r.date is not None}
    newest = max(present) if present else None
    status = resolve_days(days, present, newest, what=table)
    return [day for day, is_open in status.items() if is_open]


def fetch_phase(declared: TrendAsset) -> Callable[[RunScope], DailyFetch]:
    """The part of a run that calls KIS, which may run ahead of its step (`lib.read_ahead`):
    the days to fetch x the run's keys, one walk per key; days older than KIS keeps are left
    out, with a one-line note."""
    trend, table = declared.trend, declared.table

    def phase(scope: RunScope) -> DailyFetch:
        run = daily_run(scope, table)
        today = today_kst()
        # Days KIS will never serve are skipped, not failed, so that a range backfill of every
        # asset still runs; they are not written, not even as closed days.
        too_old = trend.too_old(run.days.days, today) or ""
        days = _kept(run.days, lambda listed: trend.kept_days(listed, today))
        run = dataclasses.replace(run, days=days)
        if not days.to_fetch:
            return DailyFetch.empty(run, trend.schema, trend.columns, note=too_old)
        only = run.only if declared.by_symbol else None
        universe = _keys(declared, run.warehouse, only, scope.settings)
        keys = sorted({k for day in days.to_fetch for k in universe.on(day)})
        fanned = _fanned(declared)
        plan = plan_calls(trend, keys, days.to_fetch)
        with scope.client() as client:
            frame, failures = _fetch(client, declared, plan, run.progress)
        if not trend.dated:
            days, beyond = _within_page(trend, days, frame, client)
            run = dataclasses.replace(run, days=days)
            too_old = "; ".join(note for note in (too_old, beyond) if note)
        frame = frame.filter(pl.col("date").is_in(days.days))
        expected = universe.expected(_sessions(days, frame, client, table))
        if fanned is not None:
            expected = expected.join(fanned, how="cross")
        return DailyFetch(
            run, frame, expected, failures, client, len(plan.keys), plan.calls, note=too_old
        )

    return phase


def build_asset(declared: TrendAsset) -> dg.AssetsDefinition:
    trend = declared.trend
    table = declared.table
    phase = fetch_phase(declared)

    @dg.asset(
        name=table,
        group_name=GROUP,
        partitions_def=trading_days,
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=RUN_WEEKDAYS),
        deps=["symbols", "trading_calendar"] if declared.by_symbol else ["trading_calendar"],
        pool=POOL,
        kinds={"parquet"},
        metadata={**SETTLES, "kis/source": f"{declared.documented} {trend.endpoint.tr_id}"},
        freshness_policy=NIGHTLY_FRESHNESS,
        description=(
            f"One row per (date, {trend.key}): {trend.title} ({trend.endpoint.name}, "
            f"{declared.documented}); one call per {_key_name(declared)} {_reach(trend)}; "
            "a closed weekday is an empty partition."
        ),
        check_specs=check_specs(declared),
    )
    def trend_asset(
        # `context` stays unannotated: Dagster rejects the string annotation that
        # `from __future__ import annotations` would make of it.
        context,
        kis: KisResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        checks = [spec.name for spec in check_specs(declared)]
        scope = run_scope(context, kis, warehouse)
        endpoint = trend.endpoint.name
        paper = skipped_in_paper(context, scope.settings.env, table, endpoint, checks)
        if paper is not None:
            return paper
        unset = _unset(declared, scope.settings)
        if unset:
            return skipped(context, unset, checks)
        got = read_ahead.fetched(context, scope, phase)
        if got.note:
            context.log.warning(got.note)
        frame, failures, client = got.frame, got.failures, got.client
        results = check_results(context, declared, frame, got.expected, failures, client)
        watchlist = declared.watchlist
        only = got.run.only if declared.by_symbol else None
        only = watchlist.codes(scope.settings) if watchlist else only
        kept = Scope.of(only, by=trend.key).keeping(failures)
        written = write_days(got.run.warehouse, table, frame, got.run.days.days, scope=kept)
        report_written(got.run.progress, written, failures=failures)
        advice = f"check the codes in {watchlist.setting}" if watchlist else ""
        fail_rejected(table, failures, _key_name(declared, plural=True), advice=advice)
        return dg.MaterializeResult(
            metadata=run_metadata(
                frame,
                written,
                client,
                calls_planned=got.calls_planned,
                **{f"{trend.key}s": got.keys},
                **({"skipped": got.note} if got.note else {}),
            ),
            check_results=results,
        )

    read_ahead.register(trend_asset.key, phase)
    return trend_asset


def _key_name(declared: TrendAsset, *, plural: bool = False) -> str:
    """What a key is in a sentence: `symbol`, `market` or `ETF of KIS_ETF_SYMBOLS` (with
    `plural`, `symbols` ... `ETFs of KIS_ETF_SYMBOLS`)."""
    s = "s" if plural else ""
    watchlist = declared.watchlist
    return f"{watchlist.what}{s} of {watchlist.setting}" if watchlist else f"{declared.key}{s}"


def _keys(
    declared: TrendAsset, wh: Warehouse, only: tuple[str, ...] | None, settings: KisSettings
) -> Universe | FixedKeys:
    """The family's keys: the listed symbols of each day, its fixed markets, or its
    watchlist's codes."""
    if declared.watchlist is not None:
        return FixedKeys(declared.watchlist.codes(settings), declared.key)
    if not declared.by_symbol:
        return FixedKeys(tuple(declared.trend.keys), declared.key)
    try:
        return Universe(wh, only=only)
    except MissingReference as exc:
        raise dg.Failure(f"{declared.table}: {exc}") from None


def _kept(days: DayPlan, keep: Callable[[list[dt.date]], list[dt.date]]) -> DayPlan:
    """The plan narrowed to the days `keep` keeps."""
    return DayPlan(keep(days.days), keep(days.closed), keep(days.to_fetch), days.known)


def _reach(trend: SymbolTrend) -> str:
    if trend.dated:
        return f"per {trend.sessions_per_call} sessions"
    return "a run (its newest sessions; no date is asked)"


def _unset(declared: TrendAsset, settings: KisSettings) -> str:
    """The one line that skips a watchlist family whose setting names no code, else ""."""
    watchlist = declared.watchlist
    if watchlist is None or watchlist.codes(settings):
        return ""
    example = f" (e.g. {watchlist.example})" if watchlist.example else ""
    return f"{declared.table} skipped: {watchlist.setting} is not set{example}"


def _within_page(
    trend: SymbolTrend, days: DayPlan, frame: pl.DataFrame, client: KisClient
) -> tuple[DayPlan, str]:
    """The run's days an undated endpoint's pages reached, and the one line that names the
    older ones: KIS takes no date there, so no call can reach them and they are skipped, not
    written. A key's page that held nothing (an unknown code) says nothing of the reach."""
    answered = set(frame["date"].to_list())
    answered |= {r.date for r in client.rejects.records(table=trend.table) if r.date is not None}
    if not answered:
        return days, ""
    oldest = min(answered)
    old = [d for d in days.days if d < oldest]
    if not old:
        return days, ""
    note = (
        f"{trend.table}: KIS answers the newest sessions of {trend.title} in one call and takes "
        f"no date: {len(old)} day(s) from {old[0]} to {old[-1]} are older than the oldest it "
        f"sent ({oldest}) and are skipped, nothing is stored for them"
    )
    return _kept(days, lambda listed: [d for d in listed if d >= oldest]), note


def _fanned(declared: TrendAsset) -> pl.DataFrame | None:
    """The values each key's call is repeated for (a stock's member firms), or None; an
    invalid list is one line before any call."""
    each = declared.trend.each
    if each is None:
        return None
    try:
        return pl.DataFrame({each.column: list(each.values())}, schema={each.column: pl.String})
    except ValueError as exc:
        raise dg.Failure(f"{declared.table}: {exc}") from None


def build(declared: TrendAsset) -> TrendDefinitions:
    """The asset, its freshness check, and `<table>_job` on `<table>_schedule`."""
    asset = build_asset(declared)
    trend = declared.trend
    job, schedule = asset_day_schedule(
        asset,
        cron=declared.cron,
        job_description=f"The day's {trend.title} for every {_key_name(declared)}.",
        description=f"Weekdays after the close: {trend.title} of the day.",
    )
    freshness = freshness_check(
        declared.table,
        description=f"Every session of the last ten days due by now has its {trend.title}.",
        unless=(lambda: _unset(declared, KisSettings.from_env())) if declared.watchlist else None,
    )
    return TrendDefinitions(asset, freshness, job, schedule)
