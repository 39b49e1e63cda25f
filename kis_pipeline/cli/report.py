"""`kis-pipeline report`: the data-quality page of a span of days, written as one HTML file.

The warehouse answers most sections; Dagster's instance (the one `backfill` and `dev` use)
gives the asset-check evaluations and the nightly multi-quote cross-checks, read here and
handed to `report.sections` as frames.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TextIO

import dagster as dg
import polars as pl

from kis_pipeline.cli import dagster_runner as runner
from kis_pipeline.common.clock import KST, now_kst
from kis_pipeline.defs.backend import open_warehouse
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.report import page, sections
from kis_pipeline.warehouse import connect

DEFAULT_DAYS = 90
EVALUATIONS_READ = 10_000  # the most Dagster returns at once


def report_command(
    out: Path, start: dt.date | None, end: dt.date | None, *, err: TextIO | None = None
) -> int:
    err = err or sys.stderr
    settings = KisSettings.from_env()
    end = end or now_kst().date()
    start = start or end - dt.timedelta(days=DEFAULT_DAYS)
    if start > end:
        print(f"error: --from {start} is after --to {end}", file=err)
        return 2
    # The lake first: without a warehouse there is nothing to report (and no instance to make).
    with connect(open_warehouse(settings)) as con:
        with runner.open_instance(runner.dagster_home(settings)) as instance:
            since = now_kst().date() - dt.timedelta(days=DEFAULT_DAYS)
            checks = check_evaluations(instance, since)
            quotes = multi_quote_runs(instance, start, end)
        parts = [
            sections.completeness(con, start, end),
            sections.tick_volume(con, start, end),
            sections.cross_checks(quotes),
            sections.stream_gaps(con, start, end),
            sections.check_history(checks, DEFAULT_DAYS),
            sections.late_opens(con, start, end),
        ]
    text = page.render(
        parts,
        title="kis-pipeline data quality",
        subtitle=f"{start} to {end}, warehouse {settings.warehouse}, written "
        f"{now_kst():%Y-%m-%d %H:%M} KST",
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out} ({len(parts)} sections, {start}..{end})", file=err)
    return 0


def _since(start: dt.date) -> float:
    return dt.datetime.combine(start, dt.time(), KST).timestamp()


def check_evaluations(instance: dg.DagsterInstance, since: dt.date) -> pl.DataFrame:
    """timestamp, asset, check, passed, severity of every asset-check evaluation since `since`
    (the newest ones, up to what Dagster returns at once)."""
    records = instance.get_event_records(
        dg.EventRecordsFilter(
            event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION,
            after_timestamp=_since(since),
        ),
        limit=EVALUATIONS_READ,
    )
    rows = []
    for record in records:
        event = record.event_log_entry.dagster_event
        data = event.event_specific_data if event is not None else None
        if data is None:
            continue
        rows.append(
            {
                "timestamp": dt.datetime.fromtimestamp(record.timestamp, KST),
                "asset": data.asset_key.to_user_string(),
                "check": data.check_name,
                "passed": bool(data.passed),
                "severity": data.severity.value,
            }
        )
    schema = {
        "timestamp": pl.Datetime("us", "Asia/Seoul"),
        "asset": pl.String,
        "check": pl.String,
        "passed": pl.Boolean,
        "severity": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def multi_quote_runs(instance: dg.DagsterInstance, start: dt.date, end: dt.date) -> pl.DataFrame:
    """date, symbols, cross_checked of each `daily_prices` materialization of the span that
    took its prices from the multi-quote."""
    rows = []
    found = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("daily_prices"), after_timestamp=_since(start)),
        limit=EVALUATIONS_READ,
    )
    for record in found.records:
        materialization = record.asset_materialization
        if materialization is None:
            continue
        meta = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
        if meta.get("source") != "multi_quote" or materialization.partition is None:
            continue
        day = dt.date.fromisoformat(materialization.partition)
        if start <= day <= end:
            rows.append(
                {
                    "date": day,
                    "symbols": int(meta.get("symbols", 0) or 0),
                    "cross_checked": int(meta.get("cross_checked", 0) or 0),
                }
            )
    schema = {"date": pl.Date, "symbols": pl.Int64, "cross_checked": pl.Int64}
    return pl.DataFrame(rows, schema=schema).unique("date", keep="first").sort("date")
