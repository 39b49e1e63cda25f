"""Dates at the edges, asset by asset: Dec 31 / Jan 1, a weekend at a year end, and the hours
around midnight in Asia/Seoul, where a UTC day, a KST day and an exchange's own day disagree."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from kis_pipeline.cli import dagster_runner as runner
from kis_pipeline.common.clock import KST
from kis_pipeline.defs.flows.schedules import nightly_range
from kis_pipeline.defs.fundamentals.dividends import refreshed_years as dividend_years
from kis_pipeline.defs.fundamentals.statements import statement_fresh
from kis_pipeline.defs.prices.freshness import price_freshness
from kis_pipeline.defs.prices.overseas import last_closed_day, overseas_checks
from kis_pipeline.defs.rankings import rankings
from kis_pipeline.defs.resources import WarehouseResource
from kis_pipeline.defs.universe import symbols
from kis_pipeline.kis import schemas
from kis_pipeline.kis.paging import split_windows
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse, WarehouseError, connect, store
from kis_pipeline.warehouse.maintenance import file_counts
from tests.defs.seed import (
    materialization_metadata,
    run_assets,
    seed_calendar,
    seed_symbols,
    use_simulator,
)
from tests.helpers.simulator import SIM_CONFIG

UTC = dt.UTC
TICKERS = [("NAS", "AAPL"), ("HKS", "00700"), ("TSE", "7203")]


# -- overseas_daily_prices: UTC weekday partitions, exchange-local dates ---------------------


def typed(schema: pl.Schema, rows: list[dict[str, object]]) -> pl.DataFrame:
    """Rows of a table (columns not given are null)."""
    return pl.DataFrame([{c: row.get(c) for c in schema} for row in rows], schema=schema)


def bars(day: dt.date, tickers: list[tuple[str, str]]) -> pl.DataFrame:
    prices = {"open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 10}
    rows = [{"date": day, "exchange": e, "symbol": s, **prices} for e, s in tickers]
    return typed(schemas.OVERSEAS_DAILY_PRICES, rows)


def checks_at(wh: Warehouse, days: list[dt.date], now: dt.datetime) -> dict[str, object]:
    return {r.check_name: r for r in overseas_checks(wh, days, TICKERS, now=now)}


def missing_of(result: object) -> list[list[str]]:
    offending = result.metadata["offending"].data  # type: ignore[attr-defined]
    return sorted([row["exchange"], row["symbol"]] for row in offending)


def test_the_nightly_overseas_run_checks_the_day_it_fetched(wh: Warehouse) -> None:
    # The schedule fires at 22:00 UTC (07:00 KST next day) for the UTC weekday that just ended:
    # every exchange has closed it, so a ticker without a bar is missing, not "not due yet".
    monday = dt.date(2026, 12, 28)
    wh.write_partition("overseas_daily_prices", monday.isoformat(), bars(monday, TICKERS[::2]))
    now = dt.datetime(2026, 12, 28, 22, 0, tzinfo=UTC)
    results = checks_at(wh, [monday], now)
    complete = results["overseas_daily_prices_complete"]
    assert not complete.passed  # type: ignore[attr-defined]
    assert missing_of(complete) == [["HKS", "00700"]]
    assert price_freshness("overseas_daily_prices", wh, now=now).passed


def test_a_day_is_due_per_exchange_around_midnight_kst(wh: Warehouse) -> None:
    # 00:01 KST on Tuesday: Tokyo and Hong Kong closed Monday hours ago, New York is trading.
    monday = dt.date(2026, 12, 28)
    wh.write_partition("overseas_daily_prices", monday.isoformat(), bars(monday, []))
    results = checks_at(wh, [monday], dt.datetime(2026, 12, 29, 0, 1, tzinfo=KST))
    assert missing_of(results["overseas_daily_prices_complete"]) == [
        ["HKS", "00700"],
        ["TSE", "7203"],
    ]


@pytest.mark.parametrize(
    ("now", "exchange", "closed"),
    [
        # New York's Dec 31 ends at 06:00 KST on Jan 1; Tokyo's Jan 1 is a weekday too.
        (dt.datetime(2027, 1, 1, 5, 59, tzinfo=KST), "NAS", dt.date(2026, 12, 30)),
        (dt.datetime(2027, 1, 1, 6, 0, tzinfo=KST), "NAS", dt.date(2026, 12, 31)),
        (dt.datetime(2027, 1, 1, 15, 29, tzinfo=KST), "TSE", dt.date(2026, 12, 31)),
        (dt.datetime(2027, 1, 1, 15, 30, tzinfo=KST), "TSE", dt.date(2027, 1, 1)),
        # A weekend after a year's first weekday, and an exchange this table does not list.
        (dt.datetime(2027, 1, 4, 9, 0, tzinfo=UTC), "NYS", dt.date(2027, 1, 1)),
        (dt.datetime(2027, 1, 4, 9, 0, tzinfo=UTC), "XXX", dt.date(2027, 1, 1)),
    ],
)
def test_last_closed_day_is_the_exchanges_own(
    now: dt.datetime, exchange: str, closed: dt.date
) -> None:
    assert last_closed_day(exchange, now) == closed


# -- dividends: record-year partitions --------------------------------------------------------


def dividend(record: dt.date, pay: dt.date | None) -> pl.DataFrame:
    row = {"symbol": "005930", "record_date": record, "pay_date": pay, "dividend_kind": "year_end"}
    return typed(schemas.DIVIDENDS, [row])


def test_a_record_date_belongs_to_its_year_whatever_the_pay_date(wh: Warehouse) -> None:
    # Dec 31 paid in April belongs to the record year; Jan 1 of the next year does not.
    wh.write_partition("dividends", "2024", dividend(dt.date(2024, 12, 31), dt.date(2025, 4, 18)))
    with pytest.raises(WarehouseError, match="do not belong to partition 2024"):
        wh.write_partition("dividends", "2024", dividend(dt.date(2025, 1, 1), None))
    # The all-issues windows of a leap year reach Dec 31 with no day left out or repeated.
    windows = list(split_windows(dt.date(2024, 1, 1), dt.date(2024, 12, 31), 31))
    assert windows[-1][1] == dt.date(2024, 12, 31) and len(windows) == 12
    assert all(b[0] - a[1] == dt.timedelta(days=1) for a, b in itertools.pairwise(windows))


def test_last_years_partition_is_refreshed_until_its_pay_dates_are_fixed() -> None:
    # AGMs that fix year-end pay dates run to the end of March; the Saturday after them may be
    # in April.
    assert dividend_years(dt.date(2027, 1, 2)) == ["2026", "2027"]
    assert dividend_years(dt.date(2027, 4, 3)) == ["2026", "2027"]
    assert dividend_years(dt.date(2027, 5, 1)) == ["2027"]


def test_dividends_fresh_on_the_first_days_of_a_year(
    wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The weekly run of the last Saturday of December wrote that year, not the new one."""
    module = sys.modules["kis_pipeline.defs.fundamentals.dividends"]
    written = dt.datetime(2026, 12, 26, 10, 5, tzinfo=KST)
    monkeypatch.setattr(store, "utc_now", lambda: written)
    wh.write_partition("dividends", "2026", dividend(dt.date(2026, 12, 30), None))

    def fresh_on(day: dt.datetime) -> bool:
        monkeypatch.setattr(module, "now_kst", lambda: day)
        return bool(
            module.dividends_fresh(
                dg.build_asset_check_context(), warehouse=WarehouseResource()
            ).passed
        )

    assert fresh_on(dt.datetime(2027, 1, 1, 12, 0, tzinfo=KST))
    assert fresh_on(dt.datetime(2027, 1, 2, 9, 0, tzinfo=KST))
    # No run since: stale once eight days have passed, in either year.
    assert not fresh_on(dt.datetime(2027, 1, 4, 12, 0, tzinfo=KST))


# -- statements: as_of partitions and the *_latest views ---------------------------------------


def statement(as_of: dt.date, period: str, period_type: str, assets: int) -> pl.DataFrame:
    keys = {"as_of": [as_of], "symbol": ["005930"], "period": [period]}
    frame = pl.DataFrame({**keys, "period_type": [period_type]})
    return (
        frame.with_columns(
            pl.lit(assets if c == "total_assets" else 1).alias(c)
            for c in schemas.BALANCE_SHEET
            if c not in frame.columns
        )
        .select(list(schemas.BALANCE_SHEET))
        .cast(dict(schemas.BALANCE_SHEET))
    )


def test_latest_view_across_a_year_end(wh: Warehouse) -> None:
    # A Q3 restated in the first week of January; Q4 quarter and annual rows of period 202612.
    for as_of, rows in (
        (dt.date(2026, 12, 26), [("202609", "quarter", 10)]),
        (
            dt.date(2027, 1, 2),
            [("202609", "quarter", 11), ("202612", "quarter", 20), ("202612", "annual", 30)],
        ),
    ):
        frame = pl.concat([statement(as_of, *row) for row in rows])
        wh.write_partition("balance_sheet", as_of.isoformat(), frame)
    with connect(wh) as con:
        got = con.execute(
            "select period, period_type, as_of, total_assets from balance_sheet_latest "
            "order by period, period_type"
        ).fetchall()
    assert got == [
        ("202609", "quarter", dt.date(2027, 1, 2), 11),
        ("202612", "annual", dt.date(2027, 1, 2), 30),
        ("202612", "quarter", dt.date(2027, 1, 2), 20),
    ]


def test_statement_freshness_over_the_new_year(
    wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = sys.modules["kis_pipeline.defs.fundamentals.statements"]
    wh.write_partition(
        "balance_sheet", "2026-12-26", statement(dt.date(2026, 12, 26), "202609", "quarter", 1)
    )
    check = statement_fresh("balance_sheet")
    monkeypatch.setattr(module, "today_kst", lambda: dt.date(2027, 1, 2))
    assert check(dg.build_asset_check_context(), warehouse=WarehouseResource()).passed
    monkeypatch.setattr(module, "today_kst", lambda: dt.date(2027, 1, 4))
    assert not check(dg.build_asset_check_context(), warehouse=WarehouseResource()).passed


# -- monthly compaction: which months are closed --------------------------------------------


def test_maintenance_over_the_new_year_keeps_a_file_per_year(wh: Warehouse) -> None:
    """Days on both sides of New Year merge into one file per year, whenever maintenance runs:
    a late day (New York's Dec 31, fetched on Jan 1 KST) joins its year's file on the next run."""
    module = importlib.import_module("kis_pipeline.defs.maintenance")
    table = "overseas_daily_prices"
    resources = {"warehouse": WarehouseResource()}
    for day in (dt.date(2026, 12, 29), dt.date(2026, 12, 30), dt.date(2027, 1, 2)):
        wh.write_partition(table, day.isoformat(), bars(day, TICKERS))
    assert dg.materialize([module.warehouse_maintenance], resources=resources).success
    wh.write_partition(table, "2026-12-31", bars(dt.date(2026, 12, 31), TICKERS))
    assert dg.materialize([module.warehouse_maintenance], resources=resources).success
    assert file_counts(wh)[table] == 2
    assert wh.read(table).height == 4 * len(TICKERS)


# -- rankings and symbols: which session a snapshot describes ---------------------------------

# 00:30 KST on the year's first session day, before it opens: KIS's newest session is the last
# one of the year before (2024-12-31 was the year-end closing day).
NEW_YEAR_NIGHT = dt.datetime(2025, 1, 2, 0, 30, tzinfo=KST)


@pytest.fixture(scope="module")
def new_year_sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(dataclasses.replace(SIM_CONFIG, now=NEW_YEAR_NIGHT)) as server:
        yield server


def test_snapshots_after_midnight_before_the_years_first_session(
    new_year_sim: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = use_simulator(monkeypatch, new_year_sim, tmp_path)
    market = new_year_sim.state.market
    seed_calendar(wh, market, years=[2024, 2025])
    seed_symbols(wh, market, dt.date(2024, 12, 30))
    # KIS's rankings still describe Dec 30: that partition is captured, Jan 2 is not there yet,
    # and the closed days between cost nothing.
    result = run_assets([rankings], partition_range=("2024-12-30", "2025-01-01"))
    assert materialization_metadata(result, "rankings")["sources"] == {
        "2024-12-30": "kis",
        "2024-12-31": "closed",
        "2025-01-01": "closed",
    }
    early = run_assets([rankings], partition_key="2025-01-02", raise_on_error=False)
    assert "KIS has no session 2025-01-02 yet" in " ".join(runner.step_errors(early))
    assert wh.partitions("rankings") == ["2024-12-30", "2024-12-31", "2025-01-01"]
    # The master files describe the listing after Dec 30: a snapshot of Dec 30 is the newest
    # session's; the closed Dec 31 gets none.
    assert materialization_metadata(run_assets([symbols], partition_key="2024-12-30"), "symbols")[
        "captured"
    ]
    closed = run_assets([symbols], partition_key="2024-12-31")
    assert materialization_metadata(closed, "symbols")["captured"] is False


def test_the_nightly_flows_range_reaches_back_over_the_year_end(
    wh: Warehouse, new_year_sim: SimulatorServer
) -> None:
    # The first session of 2025 re-pulls the last one of 2024 (flows settle on D+1), with the
    # closing day and New Year's Day between them written empty.
    seed_calendar(wh, new_year_sim.state.market, years=[2024, 2025])
    assert nightly_range(wh, dt.date(2025, 1, 2)) == (dt.date(2024, 12, 30), dt.date(2025, 1, 2))
    assert nightly_range(wh, dt.date(2024, 12, 31)) == (dt.date(2024, 12, 31),) * 2
