"""`etf_nav` against the simulator's ETF model: a family keyed by the ETFs of `KIS_ETF_SYMBOLS`
(default four KOSPI200 ETFs), built by the daily trends' factory: one call per ETF a night, rows
equal to the model (close, NAV, the premium KIS computes), a backfill that walks back 100
sessions a call with holidays empty, an unknown code in one line once the others are written,
a code dropped from the list keeping its rows, and a garbled or inconsistent record caught."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from kis_pipeline.cli.dagster_runner import step_errors
from kis_pipeline.defs.market_activity.assets import BUILT
from kis_pipeline.kis.endpoints.trends import WATCHLIST_TRENDS
from kis_pipeline.kis.settings import DEFAULT_ETF_SYMBOLS
from kis_pipeline.simulator.market import Market
from kis_pipeline.warehouse import Warehouse
from tests.defs import seed
from tests.defs.garbled import garbled_record_test

TABLE = "etf_nav"
TREND = WATCHLIST_TRENDS[TABLE]
ASSET = BUILT[TABLE].asset
TR_ID = TREND.endpoint.tr_id
NIGHT = ("2026-11-19", "2026-11-20")
DAYS = (dt.date(2026, 11, 19), dt.date(2026, 11, 20))
CHECKS = {f"{TABLE}_{name}" for name in ("unique_keys", "complete", "no_rejects", "premium")}
CHECKS |= {f"{TABLE}_close_vs_nav"}


@pytest.fixture
def wh(wh: Warehouse, market: Market, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    # Stocks only: the ETF family is not narrowed by KIS_SYMBOLS.
    monkeypatch.setenv("KIS_SYMBOLS", "005930")
    monkeypatch.delenv("KIS_ETF_SYMBOLS", raising=False)
    seed.seed_calendar(wh, market, years=[2026])
    return wh


def _assert_matches(frame: pl.DataFrame, market: Market) -> None:
    assert frame.height > 0
    for row in frame.iter_rows(named=True):
        bar = market.etf_bar(row["symbol"], row["date"])
        assert bar is not None
        assert (row["close"], row["volume"], row["nav"]) == (bar.close, bar.volume, bar.nav)
        assert row["change"] == bar.close - bar.prev_close
        assert row["nav_change"] == pytest.approx(bar.nav - bar.prev_nav, abs=0.005)
        assert row["premium_rate"] == round(bar.premium_rate, 2)


def test_a_night_is_one_call_per_etf_of_the_default_list_and_matches_the_model(
    wh: Warehouse, market: Market
) -> None:
    result = seed.run_assets([ASSET], partition_range=NIGHT)
    checks = seed.check_evaluations(result)
    assert set(checks) == CHECKS
    assert all(e.passed for e in checks.values()), checks
    meta = seed.materialization_metadata(result, TABLE)
    assert seed.tr_calls(meta, TR_ID) == len(DEFAULT_ETF_SYMBOLS) == meta["calls_planned"]
    assert meta["symbols"] == 4
    frame = wh.read(TABLE)
    assert sorted(frame.select("date", "symbol").rows()) == sorted(
        (day, code) for day in DAYS for code in DEFAULT_ETF_SYMBOLS
    )
    _assert_matches(frame, market)
    # The premium and the close less the NAV hold KIS's two decimals of the model's figures.
    premium = 100 * (frame["close"] - frame["nav"]) / frame["nav"]
    assert ((frame["premium_rate"] - premium).abs() <= 0.005 + 1e-9).all()
    assert (frame["premium_rate"].abs() < 0.6).all()


def test_a_backfill_walks_back_a_hundred_sessions_a_call_with_holidays_empty(
    wh: Warehouse, market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIS_ETF_SYMBOLS", "069500,114800")
    result = seed.run_assets([ASSET], partition_range=("2026-03-02", "2026-11-20"))
    sessions = market.trading_days(dt.date(2026, 3, 2), dt.date(2026, 11, 20))
    assert 100 < len(sessions) <= 200
    meta = seed.materialization_metadata(result, TABLE)
    # Two windows of 100 sessions per ETF.
    assert seed.tr_calls(meta, TR_ID) == 2 * 2 == meta["calls_planned"]
    frame = wh.read(TABLE)
    assert sorted(set(frame["date"].to_list())) == sessions
    assert frame.height == 2 * len(sessions)
    assert wh.read(TABLE, ["2026-10-09"]).is_empty()  # Hangul Day, a weekday closed
    _assert_matches(frame, market)


def test_an_unknown_code_is_one_line_once_the_others_are_written(
    wh: Warehouse, market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIS_ETF_SYMBOLS", "069500,999999,102110")
    result = seed.run_assets([ASSET], partition_key=NIGHT[1], raise_on_error=False)
    errors = step_errors(result)
    assert len(errors) == 1 and "\n" not in errors[0]
    assert errors[0].startswith(
        "etf_nav: etf_nav: KIS rejected 1 of the ETFs of KIS_ETF_SYMBOLS (they keep their "
        "stored rows; the others' are written; check the codes in KIS_ETF_SYMBOLS): 999999: "
    )
    assert "MCA05918" in errors[0]
    assert sorted(wh.read(TABLE)["symbol"]) == ["069500", "102110"]


def test_a_code_dropped_from_the_list_keeps_its_rows(
    wh: Warehouse, market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed.run_assets([ASSET], partition_key=NIGHT[1])
    monkeypatch.setenv("KIS_ETF_SYMBOLS", "069500")
    result = seed.run_assets([ASSET], partition_key=NIGHT[1])
    assert seed.tr_calls(seed.materialization_metadata(result, TABLE), TR_ID) == 1
    frame = wh.read(TABLE)
    assert sorted(frame["symbol"]) == sorted(DEFAULT_ETF_SYMBOLS)
    _assert_matches(frame, market)


test_a_garbled_record_is_refused_and_an_inconsistent_one_fails_its_rule = garbled_record_test(
    ASSET,
    TABLE,
    TR_ID,
    symbol="122630",
    day=DAYS[1],
    night=NIGHT,
    rows=2 * 4,
    env={"KIS_ETF_SYMBOLS": None},
    cases=[("nav", "n/a", None), ("dprt", "1.50", "etf_nav_premium")],
)
