"""`investor_flows` (per stock, FHPTJ04160001, SPEC §9.3) and `market_investor_flows` (per
market, FHPTJ04040000, §9.1): net buying by investor group, one partition per trading day.

Both endpoints answer the 30 sessions ending at a date, so a run walks each symbol (or market)
back from the end of its range, one call per 30 sessions: a backfill costs one call per symbol
per ~six weeks and the nightly run one call per symbol. A run is at most `RUN_WEEKDAYS`
partitions long (`BackfillPolicy.multi_run`): a year of days is one run (each run has a fixed
cost in Dagster), and the frame a run holds for the whole universe stays a year's. The nightly
schedule's run for day D is the range [previous session, D]: day D is provisional on its
evening and settles on D+1 (SPEC §18.12), so every night rewrites the day before with its final
figures, within the same single call per symbol.

A symbol KIS rejects (a business error such as an unknown code) keeps the rows it had, is
reported, and fails the run after the other symbols' rows are written; transient errors are
retried by the client. A run restricted to some symbols replaces only their rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import dagster as dg
import polars as pl

from kis_pipeline.defs.calendar.freshness import NIGHTLY_FRESHNESS
from kis_pipeline.defs.calendar.runs import DailyFetch, DailyRun, daily_run, run_scope
from kis_pipeline.defs.calendar.sessions import SETTLES, DayPlan, resolve_days
from kis_pipeline.defs.calendar.writing import (
    fail_rejected,
    report_calls,
    report_written,
    run_metadata,
    skipped_in_paper,
    write_days,
)
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.ingest.investor_flows import MARKETS, fetch_flows
from kis_pipeline.ingest.reference import Universe
from kis_pipeline.kis import schemas
from kis_pipeline.kis.client import KisClient
from kis_pipeline.lib import read_ahead
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.lib.partitions import trading_days
from kis_pipeline.lib.progress import Progress
from kis_pipeline.lib.quality import (
    check_spec,
    completeness_severity,
    no_rejects_result,
    no_rejects_spec,
)
from kis_pipeline.lib.read_ahead import RunScope
from kis_pipeline.lib.run_context import POOL
from kis_pipeline.warehouse import Scope
from kis_pipeline.warehouse.lookups import MissingReference

STOCK_TABLE = "investor_flows"
MARKET_TABLE = "market_investor_flows"
# The longest run, in weekday partitions: about a year.
RUN_WEEKDAYS = 261
# The groups whose net buying adds up to zero: every buy has a seller.
TOP_GROUPS = ("individual", "foreign", "institution")


def net_imbalance(frame: pl.DataFrame) -> pl.Expr:
    """Sum of the investor groups' net volume per row (≈ 0). "Other" is KIS's 기타 total, or
    other corporations plus other organisations when KIS leaves it blank."""
    other = pl.coalesce(
        pl.col("other_net_volume"),
        pl.col("other_corp_net_volume").fill_null(0) + pl.col("other_org_net_volume").fill_null(0),
    )
    return pl.sum_horizontal([pl.col(f"{g}_net_volume") for g in TOP_GROUPS]) + other


def netting_offenders(frame: pl.DataFrame, key: str, unit: int) -> pl.DataFrame:
    """Rows whose groups do not net to about zero: more than the rounding of KIS's units or
    0.1 % of the gross net volume. Each group's net is its bought less its sold quantity, each
    rounded to a `unit`, so a group's net is off by up to one unit and the four by up to four
    (a ten-year soak met a small market day three units off)."""
    gross = pl.sum_horizontal(
        [pl.col(f"{g}_net_volume").abs() for g in (*TOP_GROUPS, "other_corp", "other_org")]
    )
    return (
        frame.with_columns(imbalance=net_imbalance(frame), gross=gross)
        .filter(
            pl.col("imbalance").abs() > pl.max_horizontal(pl.lit(4 * unit), 0.001 * pl.col("gross"))
        )
        .select("date", key, "imbalance")
    )


def flow_checks(
    table: str,
    frame: pl.DataFrame,
    key: str,
    expected: pl.DataFrame,
    unit: int,
    failures: dict[str, str],
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> list[dg.AssetCheckResult]:
    """`<table>_unique_keys`, `<table>_complete` (against `expected` (date, key) pairs; a
    market's missing day has `severity`) and `<table>_nets_to_zero`."""
    dupes = frame.filter(frame.select("date", key).is_duplicated()).select("date", key)
    missing = expected.join(frame.select("date", key), on=["date", key], how="anti").sort(
        "date", key
    )
    unbalanced = netting_offenders(frame, key, unit)
    return [
        dg.AssetCheckResult(
            check_name=f"{table}_unique_keys",
            passed=dupes.height == 0,
            metadata=check_metadata(dupes),
        ),
        dg.AssetCheckResult(
            check_name=f"{table}_complete",
            passed=missing.height == 0,
            # A halted stock may have no row; a missing market never is right.
            severity=dg.AssetCheckSeverity.WARN if key == "symbol" else severity,
            metadata=check_metadata(missing, expected=expected.height, failures=failures),
        ),
        dg.AssetCheckResult(
            check_name=f"{table}_nets_to_zero",
            passed=unbalanced.height == 0,
            metadata=check_metadata(unbalanced),
        ),
    ]


def flow_specs(table: str, grain: str, complete: str) -> list[dg.AssetCheckSpec]:
    return [
        check_spec(table, "unique_keys", f"No {grain} twice."),
        check_spec(table, "complete", complete),
        check_spec(
            table,
            "nets_to_zero",
            "Individual + foreign + institution + other net volume ≈ 0 per row.",
        ),
        no_rejects_spec(table),
    ]


def fetch_keys(
    client: KisClient, table: str, keys: list[str], plan: DayPlan, progress: Progress
) -> tuple[pl.DataFrame, dict[str, str]]:
    """`table` over the plan's days to fetch, one walk per key, with the calls on `progress`."""
    return fetch_flows(
        client,
        table,
        keys,
        plan.to_fetch[0],
        plan.to_fetch[-1],
        sessions=len(plan.to_fetch),
        on_planned=lambda calls: progress.update(force=True, calls_planned=calls),
        on_key=lambda failures: report_calls(progress, client, failures=failures),
    )


def session_status(plan: DayPlan, frame: pl.DataFrame, table: str) -> dict[dt.date, bool]:
    present = set(frame["date"].unique().to_list())
    newest = max(present) if present else None
    return resolve_days(plan, present, newest, what=table)


def finish(
    context: dg.AssetExecutionContext,
    table: str,
    got: DailyFetch,
    checks: list[dg.AssetCheckResult],
    scope: Scope,
    **extra: object,
) -> dg.MaterializeResult:
    run, failures = got.run, got.failures
    frame = got.frame.filter(pl.col("date").is_in(run.days.days))
    written = write_days(run.warehouse, table, frame, run.days.days, scope=scope.keeping(failures))
    report_written(run.progress, written, failures=failures)
    fail_rejected(table, failures)
    return dg.MaterializeResult(
        metadata=run_metadata(frame, written, got.client, **extra),
        check_results=checks,
    )


def fetch_stock_flows(scope: RunScope) -> DailyFetch:
    """`investor_flows`' fetch phase: one walk per symbol of the run's universe."""
    run = daily_run(scope, STOCK_TABLE)
    if run.days.fetch_range is None:
        return DailyFetch.empty(run, schemas.INVESTOR_FLOWS, ("date", "symbol"))
    try:
        universe = Universe(run.warehouse, only=run.only)
    except MissingReference as exc:
        raise dg.Failure(f"{STOCK_TABLE}: {exc}") from None
    symbols = sorted({s for day in run.days.to_fetch for s in universe.on(day)})
    return _walk(scope, run, STOCK_TABLE, symbols, universe.expected)


def fetch_market_flows(scope: RunScope) -> DailyFetch:
    """`market_investor_flows`' fetch phase: one walk per market."""
    run = daily_run(scope, MARKET_TABLE)
    if run.days.fetch_range is None:
        return DailyFetch.empty(run, schemas.MARKET_INVESTOR_FLOWS, ("date", "market"))
    return _walk(scope, run, MARKET_TABLE, list(MARKETS), _market_rows)


def _walk(
    scope: RunScope,
    run: DailyRun,
    table: str,
    keys: list[str],
    expected_on: Callable[[list[dt.date]], pl.DataFrame],
) -> DailyFetch:
    with scope.client() as client:
        frame, failures = fetch_keys(client, table, keys, run.days, run.progress)
    status = session_status(run.days, frame, table)
    expected = expected_on([day for day, is_open in status.items() if is_open])
    return DailyFetch(run, frame, expected, failures, client, len(keys))


def _market_rows(sessions: list[dt.date]) -> pl.DataFrame:
    return pl.DataFrame(
        [(day, market) for day in sessions for market in MARKETS],
        schema={"date": pl.Date, "market": pl.String},
        orient="row",
    )


@dg.asset(
    name=STOCK_TABLE,
    group_name="flows",
    partitions_def=trading_days,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=RUN_WEEKDAYS),
    deps=[dg.AssetDep("symbols"), dg.AssetDep("trading_calendar")],
    pool=POOL,
    kinds={"parquet"},
    metadata=SETTLES,
    freshness_policy=NIGHTLY_FRESHNESS,
    description=(
        "One row per (date, symbol): net buying by investor group in shares and KRW (with "
        "gross buys and sells), final from D+1; a closed weekday is an empty partition."
    ),
    check_specs=flow_specs(
        STOCK_TABLE, "(date, symbol)", "Every listed symbol has a row on every session."
    ),
)
def investor_flows(
    # `context` stays unannotated: Dagster rejects the string annotation that
    # `from __future__ import annotations` would make of it.
    context,
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    checks = [spec.name for spec in flow_specs(STOCK_TABLE, "", "")]
    endpoint = "investor-trade-by-stock-daily"
    scope = run_scope(context, kis, warehouse)
    paper = skipped_in_paper(context, scope.settings.env, STOCK_TABLE, endpoint, checks)
    if paper is not None:
        return paper
    got = read_ahead.fetched(context, scope, fetch_stock_flows)
    return finish(
        context,
        STOCK_TABLE,
        got,
        [
            *flow_checks(STOCK_TABLE, got.frame, "symbol", got.expected, 1, got.failures),
            no_rejects_result(context, STOCK_TABLE, got.client),
        ],
        Scope.of(got.run.only),
        symbols=got.keys,
    )


read_ahead.register(investor_flows.key, fetch_stock_flows)


@dg.asset(
    name=MARKET_TABLE,
    group_name="flows",
    partitions_def=trading_days,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=RUN_WEEKDAYS),
    deps=[dg.AssetDep("trading_calendar")],
    pool=POOL,
    kinds={"parquet"},
    metadata=SETTLES,
    freshness_policy=NIGHTLY_FRESHNESS,
    description=(
        "One row per (date, market): market-wide net buying by investor group for KOSPI and "
        "KOSDAQ, in shares and KRW; a closed weekday is an empty partition."
    ),
    check_specs=flow_specs(MARKET_TABLE, "(date, market)", "KOSPI and KOSDAQ on every session."),
)
def market_investor_flows(
    # `context` stays unannotated: Dagster rejects the string annotation that
    # `from __future__ import annotations` would make of it.
    context,
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    checks = [spec.name for spec in flow_specs(MARKET_TABLE, "", "")]
    endpoint = "inquire-investor-daily-by-market"
    scope = run_scope(context, kis, warehouse)
    paper = skipped_in_paper(context, scope.settings.env, MARKET_TABLE, endpoint, checks)
    if paper is not None:
        return paper
    got = read_ahead.fetched(context, scope, fetch_market_flows)
    # Market figures come in thousands of shares (SPEC §9.1).
    return finish(
        context,
        MARKET_TABLE,
        got,
        [
            *flow_checks(
                MARKET_TABLE,
                got.frame,
                "market",
                got.expected,
                1_000,
                got.failures,
                completeness_severity(context),
            ),
            no_rejects_result(context, MARKET_TABLE, got.client),
        ],
        Scope(by="market"),
    )


read_ahead.register(market_investor_flows.key, fetch_market_flows)
