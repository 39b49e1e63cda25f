"""`elw_prices` against the simulator's Black-Scholes warrants: a family keyed by the ELWs of
`KIS_ELW_SYMBOLS`, built by the daily trends' factory: one call per ELW a night, rows equal to
the model (the bar, the historical and implied volatilities), a backfill that keeps the one
page KIS answers and skips the older days in one line, an unknown code in one line once the
others are written, skipped in paper and without a list, and a garbled or inconsistent
record caught."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from kis_pipeline.cli.dagster_runner import step_errors
from kis_pipeline.cli.demo import QUERIES
from kis_pipeline.defs.market_activity.assets import BUILT
from kis_pipeline.kis.endpoints.trends import WATCHLIST_TRENDS
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_elws import ELWS
from kis_pipeline.simulator.rest_elws import ROWS_PER_CALL
from kis_pipeline.warehouse import Warehouse, connect
from tests.defs import seed
from tests.defs.garbled import garbled_record_test

TABLE = "elw_prices"
TREND = WATCHLIST_TRENDS[TABLE]
ASSET = BUILT[TABLE].asset
TR_ID = TREND.endpoint.tr_id
CODES = tuple(elw.code for elw in ELWS)
NIGHT = ("2026-11-19", "2026-11-20")
DAYS = (dt.date(2026, 11, 19), dt.date(2026, 11, 20))
CHECKS = {f"{TABLE}_{name}" for name in ("unique_keys", "complete", "no_rejects", "tick")}
CHECKS |= {f"{TABLE}_change_rate"}


@pytest.fixture
def wh(wh: Warehouse, market: Market, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    # Stocks only: the ELW family is not narrowed by KIS_SYMBOLS.
    monkeypatch.setenv("KIS_SYMBOLS", "005930")
    monkeypatch.setenv("KIS_ELW_SYMBOLS", ",".join(CODES))
    seed.seed_calendar(wh, market, years=[2026])
    return wh


def _assert_matches(frame: pl.DataFrame, market: Market) -> None:
    assert frame.height > 0
    for row in frame.iter_rows(named=True):
        bar = market.elw_bar(row["symbol"], row["date"])
        assert bar is not None
        bar_prices = (bar.open, bar.high, bar.low, bar.close, bar.volume)
        assert (row["open"], row["high"], row["low"], row["close"], row["volume"]) == bar_prices
        assert row["change"] == bar.close - bar.prev_close
        assert row["implied_vol"] == round(bar.vol * 100, 2)
        assert row["hist_vol_90d"] == round(bar.historical[-1] * 100, 2)


def test_a_night_is_one_call_per_elw_and_matches_the_model(wh: Warehouse, market: Market) -> None:
    result = seed.run_assets([ASSET], partition_range=NIGHT)
    checks = seed.check_evaluations(result)
    assert set(checks) == CHECKS
    assert all(e.passed for e in checks.values()), checks
    meta = seed.materialization_metadata(result, TABLE)
    assert seed.tr_calls(meta, TR_ID) == len(CODES) == meta["calls_planned"] == 4
    assert meta["symbols"] == 4 and "skipped" not in meta
    frame = wh.read(TABLE)
    assert sorted(frame.select("date", "symbol").rows()) == sorted(
        (day, code) for day in DAYS for code in CODES
    )
    _assert_matches(frame, market)
    # The demo's query reads the table: one line per ELW, its last close and volatilities.
    query = next(sql for title, sql in QUERIES if "(elw_prices)" in title)
    with connect(wh) as con:
        lines = con.execute(query).fetchall()
    last = frame.filter(pl.col("date") == DAYS[1]).sort("symbol")
    assert [line[:2] for line in lines] == last.select("symbol", "close").rows()
    assert [line[-1] for line in lines] == [2] * 4


def test_a_backfill_keeps_the_one_page_kis_answers_and_skips_older_days_in_one_line(
    wh: Warehouse, market: Market
) -> None:
    result = seed.run_assets([ASSET], partition_range=("2026-08-03", "2026-11-20"))
    meta = seed.materialization_metadata(result, TABLE)
    # No date to walk back with: one call per ELW, whatever the range.
    assert seed.tr_calls(meta, TR_ID) == 4 == meta["calls_planned"]
    page = market.trading_days(dt.date(2026, 8, 3), dt.date(2026, 11, 20))[-ROWS_PER_CALL:]
    # Every weekday partition before the page, sessions and closed weekdays alike.
    older = [d for d in _weekdays(dt.date(2026, 8, 3), page[0]) if d < page[0]]
    assert meta["skipped"].startswith(
        "elw_prices: KIS answers the newest sessions of elw prices in one call and takes no "
        f"date: {len(older)} day(s) from 2026-08-03 to {older[-1]} are older than the oldest "
        f"it sent ({page[0]}) and are skipped, nothing is stored for them"
    )
    assert f"older than the oldest it sent ({page[0]})" in meta["skipped"]
    assert all(e.passed for e in seed.check_evaluations(result).values())
    frame = wh.read(TABLE)
    assert sorted(set(frame["date"].to_list())) == page
    assert frame.height == 4 * len(page)
    assert min(wh.partitions(TABLE)) >= page[0].isoformat()
    _assert_matches(frame, market)


def test_a_day_older_than_the_page_is_skipped_in_one_line_without_a_write(
    wh: Warehouse,
) -> None:
    result = seed.run_assets([ASSET], partition_key="2026-08-03")
    meta = seed.materialization_metadata(result, TABLE)
    # The answer is what tells how far back KIS reaches: the calls are made, nothing is kept.
    assert seed.tr_calls(meta, TR_ID) == 4
    assert "1 day(s) from 2026-08-03 to 2026-08-03 are older than the oldest" in meta["skipped"]
    assert all(e.passed for e in seed.check_evaluations(result).values())
    assert wh.partitions(TABLE) == []


def _weekdays(first: dt.date, last: dt.date) -> list[dt.date]:
    days = (first + dt.timedelta(days=i) for i in range((last - first).days + 1))
    return [day for day in days if day.weekday() < 5]


def test_an_unknown_code_is_one_line_once_the_others_are_written(
    wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIS_ELW_SYMBOLS", "57K001,99Z999,57K004")
    result = seed.run_assets([ASSET], partition_key=NIGHT[1], raise_on_error=False)
    errors = step_errors(result)
    assert len(errors) == 1 and "\n" not in errors[0]
    assert errors[0].startswith(
        "elw_prices: elw_prices: KIS rejected 1 of the ELWs of KIS_ELW_SYMBOLS (they keep "
        "their stored rows; the others' are written; check the codes in KIS_ELW_SYMBOLS): "
        "99Z999: "
    )
    assert "MCA05918" in errors[0]
    assert sorted(wh.read(TABLE)["symbol"]) == ["57K001", "57K004"]


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"KIS_ENV": "paper"}, "paper (mock) service has no volatility-trend-daily"),
        ({"KIS_ELW_SYMBOLS": ""}, "elw_prices skipped: KIS_ELW_SYMBOLS is not set (e.g. 58J297)"),
    ],
)
def test_paper_and_an_empty_watchlist_skip_in_one_line(
    wh: Warehouse, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], reason: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = seed.run_assets([ASSET], partition_key=NIGHT[1])
    meta = seed.materialization_metadata(result, TABLE)
    assert reason in meta["skipped"] and "\n" not in meta["skipped"]
    assert seed.tr_calls(meta, TR_ID) == 0
    assert wh.partitions(TABLE) == []


test_a_garbled_record_is_refused_and_an_inconsistent_one_fails_its_rule = garbled_record_test(
    ASSET,
    TABLE,
    TR_ID,
    symbol="57K003",
    day=DAYS[1],
    night=NIGHT,
    rows=2 * 4,
    env={"KIS_ELW_SYMBOLS": ",".join(CODES)},
    cases=[
        ("hts_ints_vltl", "n/a", None),
        # 57K003's high that night is 430: still the day's high, but off the 5 KRW tick.
        ("elw_hgpr", "433", "elw_prices_tick"),
        ("prdy_ctrt", "9.99", "elw_prices_change_rate"),
    ],
)
