"""`balance_sheet`, `income_statement`, `financial_ratios` and the ratio tables
`profit_ratios`, `other_ratios`, `stability_ratios`, `growth_ratios`: every fiscal period KIS
shows for each listed symbol, annual and quarterly (SPEC §10.1-§10.7), refreshed weekly.

KIS only shows the figures as they stand today, so each refresh is stamped `as_of` = the run
date (KST) and written as that day's partition: restatements stay visible point in time, a
rerun the same day replaces that day's partition, and the catalog's `*_latest` views give the
newest figures per (symbol, period, period_type). The assets are not partitioned in Dagster:
a past `as_of` cannot be fetched again. Two calls per symbol (annual, quarterly). A rerun the
same day for some symbols replaces only theirs, and a symbol KIS rejects keeps what it had.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from kis_pipeline.common.clock import today_kst
from kis_pipeline.defs.calendar.writing import run_metadata, skipped_in_paper, write_one
from kis_pipeline.defs.clock_checks import clock_check
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.ingest.reference import Universe
from kis_pipeline.ingest.statements import fetch_statements
from kis_pipeline.kis.endpoints.fundamentals import STATEMENTS as ENDPOINTS
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.lib.run_context import POOL, selected_symbols
from kis_pipeline.warehouse import Scope, Warehouse
from kis_pipeline.warehouse.lookups import MissingReference

KEY = ["as_of", "symbol", "period", "period_type"]
WEEKLY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(days=8))
# Tolerance of the balance-sheet identity: items are whole KRW 100 million at KIS.
BALANCE_TOLERANCE = 0.01


def balance_offenders(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows where total assets differ from liabilities + equity by more than 1 %."""
    gap = pl.col("total_assets") - pl.col("total_liabilities") - pl.col("total_equity")
    return frame.filter(gap.abs() > BALANCE_TOLERANCE * pl.col("total_assets").abs()).select(
        "symbol", "period", "period_type"
    )


def statement_checks(
    table: str, frame: pl.DataFrame, symbols: list[str], failures: dict[str, str]
) -> list[dg.AssetCheckResult]:
    dupes = frame.filter(frame.select(KEY).is_duplicated()).select(KEY[1:])
    covered = set(frame["symbol"].to_list())
    missing = [s for s in symbols if s not in covered]
    results = [
        dg.AssetCheckResult(
            check_name=f"{table}_unique_keys",
            passed=dupes.height == 0,
            metadata=check_metadata(dupes),
        ),
        dg.AssetCheckResult(
            check_name=f"{table}_complete",
            passed=not missing,
            severity=dg.AssetCheckSeverity.WARN,
            metadata=check_metadata(missing, symbols=len(symbols), failures=failures),
        ),
    ]
    if table == "balance_sheet":
        off = balance_offenders(frame)
        results.append(
            dg.AssetCheckResult(
                check_name="balance_sheet_balances",
                passed=off.height == 0,
                severity=dg.AssetCheckSeverity.WARN,
                metadata=check_metadata(off),
            )
        )
    return results


def statement_asset(table: str, measures: str) -> dg.AssetsDefinition:
    specs = [
        dg.AssetCheckSpec(
            f"{table}_unique_keys",
            asset=table,
            description="No (as_of, symbol, period, period_type) twice.",
        ),
        dg.AssetCheckSpec(
            f"{table}_complete", asset=table, description="Every listed symbol has figures."
        ),
    ]
    if table == "balance_sheet":
        specs.append(
            dg.AssetCheckSpec(
                "balance_sheet_balances",
                asset=table,
                description="Total assets = total liabilities + total equity (within 1 %).",
            )
        )

    @dg.asset(
        name=table,
        group_name="fundamentals",
        deps=[dg.AssetDep("symbols")],
        pool=POOL,
        kinds={"parquet"},
        freshness_policy=WEEKLY_FRESHNESS,
        description=(
            f"One row per (as_of, symbol, period, period_type): {measures}, annual and "
            "quarterly, as KIS showed them on as_of (the weekly run date)."
        ),
        check_specs=specs,
    )
    def statement(
        # `context` stays unannotated: Dagster rejects the string annotation that
        # `from __future__ import annotations` would make of it.
        context,
        kis: KisResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        paper = skipped_in_paper(
            context,
            kis.settings().env,
            table,
            ENDPOINTS[table].name,
            [spec.name for spec in specs],
        )
        if paper is not None:
            return paper
        wh = warehouse.warehouse()
        as_of = today_kst()
        try:
            universe = Universe(wh, only=selected_symbols(context, kis.settings().symbols))
        except MissingReference as exc:
            raise dg.Failure(f"{table}: {exc}") from None
        symbols = universe.on(as_of)
        with kis.client() as client:
            frame, failures = fetch_statements(client, table, symbols, as_of)
        failed = {key.split("/")[0] for key in failures}
        scope = Scope.of(universe.only, keep=failed)
        written = write_one(wh, table, as_of.isoformat(), frame, scope=scope)
        if failures:
            raise dg.Failure(
                f"{table}: KIS rejected {len(failures)} requests (their symbols keep their stored "
                "rows; the rest are written): "
                + "; ".join(f"{k}: {v}" for k, v in sorted(failures.items())[:5])
            )
        return dg.MaterializeResult(
            metadata=run_metadata(
                frame, written, client, as_of=as_of.isoformat(), symbols=len(symbols)
            ),
            check_results=statement_checks(table, frame, symbols, failures),
        )

    return statement


balance_sheet = statement_asset("balance_sheet", "balance-sheet items in KRW")
income_statement = statement_asset(
    "income_statement", "income items in KRW (quarters year to date)"
)
financial_ratios = statement_asset("financial_ratios", "growth, profitability and per-share ratios")
profit_ratios = statement_asset("profit_ratios", "net income over assets, equity and revenue (%)")
other_ratios = statement_asset("other_ratios", "EVA and EBITDA in KRW, EV/EBITDA")
stability_ratios = statement_asset("stability_ratios", "debt, borrowing, current, quick ratios (%)")
growth_ratios = statement_asset("growth_ratios", "revenue, profit, equity, asset growth (%)")
STATEMENTS = [
    balance_sheet,
    income_statement,
    financial_ratios,
    profit_ratios,
    other_ratios,
    stability_ratios,
    growth_ratios,
]


def newest_as_of(warehouse: Warehouse, table: str) -> dt.date | None:
    partitions = warehouse.partitions(table)
    return dt.date.fromisoformat(partitions[-1]) if partitions else None


def statement_fresh(table: str, days: int = 8) -> dg.AssetChecksDefinition:
    """`<table>_fresh`: the newest as_of partition is at most `days` days old."""

    @clock_check(
        asset=table,
        name=f"{table}_fresh",
        description=f"The newest as_of partition is at most {days} days old.",
    )
    def check(warehouse: Warehouse) -> dg.AssetCheckResult:
        newest = newest_as_of(warehouse, table)
        due = today_kst() - dt.timedelta(days=days)
        passed = newest is not None and newest >= due
        return dg.AssetCheckResult(
            passed=passed,
            metadata=check_metadata(
                [] if passed else [due.isoformat()], newest_as_of=str(newest or "")
            ),
        )

    return check
