"""The calendar domain against the simulator: `index_daily` reveals past sessions (a closed
weekday is an empty partition), `trading_calendar` folds them with chk-holiday's weeks ahead,
calling chk-holiday at most once a day, and refuses to let the bars contradict it silently."""

from __future__ import annotations

import datetime as dt
import math

import dagster as dg
import polars as pl

from kis_pipeline.common.clock import KST, today_kst
from kis_pipeline.defs.calendar import index_daily, trading_calendar
from kis_pipeline.defs.calendar.freshness import daily_freshness
from kis_pipeline.defs.calendar.schedules import (
    calendar_years_for,
    index_daily_schedule,
    trading_calendar_schedule,
)
from kis_pipeline.defs.calendar.sessions import days_between, not_ready
from kis_pipeline.ingest.calendar_build import chk_holiday_base, derived_flags, is_year_end_closing
from kis_pipeline.simulator.market import Market
from kis_pipeline.warehouse import TABLES, Warehouse
from tests.defs.seed import (
    check_evaluations,
    materialization_metadata,
    run_assets,
    seed_calendar,
    tr_calls,
)

INDEX_TR = "FHKUP03500100"
HOLIDAY_TR = "CTCA0903R"
# Chuseok 2026 (9/24-25), its substitute for National Foundation Day (10/5) and Hangul Day
# (10/9) are weekday holidays inside this range.
HOLIDAY_RANGE = ("2026-09-21", "2026-10-09")
RECENT_RANGE = ("2026-11-02", "2026-11-20")


def _weekdays(start: str, end: str) -> list[dt.date]:
    days = pl.date_range(dt.date.fromisoformat(start), dt.date.fromisoformat(end), eager=True)
    return [d for d in days.to_list() if d.weekday() < 5]


def test_index_daily_matches_the_market_and_leaves_holidays_empty(
    wh: Warehouse, market: Market
) -> None:
    result = run_assets([index_daily], partition_range=HOLIDAY_RANGE)
    meta = materialization_metadata(result, "index_daily")
    # One 50-bar page per index covers the range (and the two weeks read past it).
    assert tr_calls(meta, INDEX_TR) == 3
    assert all(e.passed for e in check_evaluations(result).values())

    days = _weekdays(*HOLIDAY_RANGE)
    assert wh.partitions("index_daily") == [d.isoformat() for d in days]
    frame = wh.read("index_daily")
    for day in days:
        rows = frame.filter(pl.col("date") == day)
        assert rows.height == (3 if market.is_trading_day(day) else 0), day
    start, end = days[0], days[-1]
    for code in ("0001", "1001", "2001"):
        truth = {b.date: b for b in market.index_bars(code, start, end)}
        got = frame.filter(pl.col("index_code") == code).sort("date")
        assert got["date"].to_list() == sorted(truth)
        for row in got.iter_rows(named=True):
            bar = truth[row["date"]]
            assert (row["open"], row["high"], row["low"], row["close"]) == (
                bar.open,
                bar.high,
                bar.low,
                bar.close,
            )
            # KIS sends index volume in thousands of shares and value in KRW millions.
            assert abs(row["volume"] - bar.volume) < 1_000
            assert abs(row["value"] - bar.value) < 1_000_000


def test_trading_calendar_past_from_bars_ahead_from_one_chk_holiday_call(
    wh: Warehouse, market: Market
) -> None:
    run_assets([index_daily], partition_range=RECENT_RANGE)
    newest = dt.date.fromisoformat(RECENT_RANGE[1])
    # The simulator's clock stops at its newest session, whatever the wall clock says: the
    # chart is asked about the days after it, and chk-holiday starts the day after it.
    base = newest + dt.timedelta(days=1)
    year = str(base.year)

    first = run_assets([trading_calendar], partition_key=year)
    meta = materialization_metadata(first, "trading_calendar")
    assert tr_calls(meta, HOLIDAY_TR) == 1
    assert meta["chk_holiday_called"] is True
    assert meta["chk_holiday_base"] == base.isoformat()
    checks = check_evaluations(first)
    assert all(check.passed for check in checks.values()), checks

    frame = wh.read("trading_calendar", [year])
    past = frame.filter(pl.col("source") == "index")
    ahead = frame.filter(pl.col("source") == "chk-holiday")
    # The weekends on either side of the bars are closed without evidence.
    assert past["date"].min() == dt.date(2026, 10, 31)
    assert past["date"].max() == dt.date(2026, 11, 22)
    # One answer: 24 days from the base date (the part of them in this year), and no hole
    # between the bars and it.
    span = [base + dt.timedelta(days=n) for n in range(24)]
    assert frame["date"].to_list() == days_between(dt.date(2026, 10, 31), span[-1])
    assert ahead["date"].min() == dt.date(2026, 11, 23)
    for row in frame.iter_rows(named=True):
        day = row["date"]
        assert row["is_trading_day"] == market.is_trading_day(day), day
        assert row["is_market_open"] == market.is_trading_day(day), day
        assert row["is_business_day"] == market.is_business_day(day), day
        assert row["is_settlement_day"] == market.is_settlement_day(day), day

    # The same day again: chk-holiday's answer comes from the memory; the table is unchanged.
    again = run_assets([trading_calendar], partition_key=year)
    meta = materialization_metadata(again, "trading_calendar")
    assert tr_calls(meta, HOLIDAY_TR) == 0
    assert meta["chk_holiday_called"] is False
    assert wh.read("trading_calendar", [year]).equals(frame)


def test_past_year_derives_business_days_without_chk_holiday(wh: Warehouse, market: Market) -> None:
    # Labour Day (5/1, a Thursday) and the year-end closing day (12/31, a Wednesday) are
    # business days without a session.
    run_assets([index_daily], partition_range=("2025-04-28", "2025-05-09"))
    run_assets([index_daily], partition_range=("2025-12-22", "2025-12-31"))
    result = run_assets([trading_calendar], partition_key="2025")
    assert tr_calls(materialization_metadata(result, "trading_calendar"), HOLIDAY_TR) == 0

    frame = wh.read("trading_calendar", ["2025"])
    for row in frame.iter_rows(named=True):
        day = row["date"]
        assert row["source"] == "index"
        assert row["is_trading_day"] == market.is_trading_day(day), day
        assert row["is_business_day"] == market.is_business_day(day), day
        assert row["is_settlement_day"] == market.is_settlement_day(day), day
    labour_day = frame.filter(pl.col("date") == dt.date(2025, 5, 1)).row(0, named=True)
    assert labour_day["is_business_day"] and not labour_day["is_trading_day"]

    # The weekdays between the two ranges had no index partition: the calendar read them from
    # the KOSPI chart (paged, 50 bars a call) instead of leaving a hole.
    holes = _weekdays("2025-05-12", "2025-12-19")
    assert materialization_metadata(result, "trading_calendar")["days_read_from_chart"] == len(
        holes
    )
    read = _weekdays("2025-05-12", "2026-01-02")  # the holes and two weeks past them
    assert tr_calls(materialization_metadata(result, "trading_calendar"), INDEX_TR) <= math.ceil(
        len(read) / 50
    )
    assert check_evaluations(result)["trading_calendar_contiguous"].passed
    assert frame["date"].to_list() == days_between(dt.date(2025, 4, 26), dt.date(2025, 12, 31))


def test_bars_contradicting_chk_holiday_fail_the_blocking_check(wh: Warehouse) -> None:
    run_assets([index_daily], partition_range=RECENT_RANGE)
    year = "2026"
    # An earlier chk-holiday answer said 2026-11-19 would be a holiday; the bars show a session.
    wrong = pl.DataFrame(
        [
            {
                "date": dt.date(2026, 11, 19),
                "is_business_day": False,
                "is_trading_day": False,
                "is_market_open": False,
                "is_settlement_day": False,
                "is_securities_business_day": True,
                "source": "chk-holiday",
            }
        ],
        schema=TABLES["trading_calendar"].schema,
    )
    wh.write_partition("trading_calendar", year, wrong)

    result = run_assets([trading_calendar], partition_key=year, raise_on_error=False)
    agrees = check_evaluations(result)["trading_calendar_agrees_with_chk_holiday"]
    assert not agrees.passed
    assert agrees.metadata["offending"].value == [
        {"date": "2026-11-19", "chk_holiday_open": False, "bars_open": True}
    ]
    # The bars win: the day is recorded as the session it was.
    row = wh.read("trading_calendar", [year]).filter(pl.col("date") == dt.date(2026, 11, 19))
    assert row["is_trading_day"].to_list() == [True]


def test_closed_days_known_to_the_calendar_make_no_calls(wh: Warehouse) -> None:
    run_assets([index_daily], partition_range=HOLIDAY_RANGE)
    run_assets([trading_calendar], partition_key="2026")
    # Chuseok: the calendar now knows both days were closed.
    result = run_assets([index_daily], partition_range=("2026-09-24", "2026-09-25"))
    meta = materialization_metadata(result, "index_daily")
    assert meta["calls"] == 0
    assert wh.read("index_daily", ["2026-09-24", "2026-09-25"]).height == 0
    assert {"2026-09-24", "2026-09-25"} <= set(wh.partitions("index_daily"))


def test_derived_flags_rules() -> None:
    assert is_year_end_closing(dt.date(2027, 12, 31))  # a Friday
    assert is_year_end_closing(dt.date(2022, 12, 30))  # Friday; 12/31 is a Saturday
    assert not is_year_end_closing(dt.date(2022, 12, 29))
    assert derived_flags(dt.date(2024, 5, 1), False)["is_business_day"]
    assert not derived_flags(dt.date(2024, 9, 17), False)["is_business_day"]
    assert derived_flags(dt.date(2024, 9, 19), True)["is_settlement_day"]
    assert chk_holiday_base(dt.date(2026, 11, 20), dt.date(2026, 11, 23)) == dt.date(2026, 11, 21)
    assert chk_holiday_base(dt.date(2026, 11, 23), dt.date(2026, 11, 23)) == dt.date(2026, 11, 23)
    assert chk_holiday_base(None, dt.date(2026, 11, 23)) == dt.date(2026, 11, 23)


def test_schedules_ask_for_the_day_and_the_years_ahead() -> None:
    evening = dt.datetime(2026, 11, 20, 18, 30, tzinfo=KST)
    request = index_daily_schedule(dg.build_schedule_context(scheduled_execution_time=evening))
    assert request.partition_key == "2026-11-20"
    december = dt.datetime(2026, 12, 20, 19, 30, tzinfo=KST)
    requests = trading_calendar_schedule(
        dg.build_schedule_context(scheduled_execution_time=december)
    )
    assert [r.partition_key for r in requests] == ["2026", "2027"]
    assert calendar_years_for(dt.date(2026, 6, 1)) == ["2026"]


def test_freshness_names_the_missing_sessions(wh: Warehouse, market: Market) -> None:
    today = today_kst()
    seed_calendar(wh, market, years=sorted({(today - dt.timedelta(days=10)).year, today.year}))
    stale = daily_freshness("index_daily", wh)
    # The simulator's history stops at its own clock; its calendar does not.
    recent = [today - dt.timedelta(days=n) for n in range(10, 0, -1)]
    due = [d for d in recent if market.is_trading_day(d)]
    assert not stale.passed
    assert set(stale.metadata["offending"].value) >= {d.isoformat() for d in due}

    empty = pl.DataFrame(schema=TABLES["index_daily"].schema)
    for day in [*due, today]:
        wh.write_partition("index_daily", day.isoformat(), empty)
    assert daily_freshness("index_daily", wh).passed


def test_a_session_that_has_not_closed_is_left_for_later() -> None:
    during = dt.datetime(2026, 11, 20, 11, 0, tzinfo=KST)
    after = dt.datetime(2026, 11, 20, 16, 0, tzinfo=KST)
    days = [dt.date(2026, 11, 19), dt.date(2026, 11, 20)]
    assert not_ready(days, during) == [dt.date(2026, 11, 20)]
    assert not_ready(days, after) == []
