"""`elw_greeks` against the simulator's Black-Scholes warrants: the ELWs of `KIS_ELW_SYMBOLS`
through the daily trends' factory, one call per ELW a night, every stored figure equal to the
model's value and Greeks at the underlying's close (KIS's rounding), a call's delta in 0..1 and
a put's in -1..0; a garbled Greek is refused, an impossible delta fails its rule; paper skips."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.defs.market_activity.assets import BUILT
from kis_pipeline.kis.endpoints.trends import WATCHLIST_TRENDS
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_elws import BY_CODE, ELWS, greeks
from kis_pipeline.warehouse import Warehouse
from tests.defs import seed
from tests.defs.garbled import garbled_record_test

TABLE = "elw_greeks"
TREND = WATCHLIST_TRENDS[TABLE]
ASSET = BUILT[TABLE].asset
TR_ID = TREND.endpoint.tr_id
CODES = tuple(elw.code for elw in ELWS)
NIGHT = ("2026-11-19", "2026-11-20")
DAYS = (dt.date(2026, 11, 19), dt.date(2026, 11, 20))
CHECKS = {f"{TABLE}_{name}" for name in ("unique_keys", "complete", "no_rejects", "delta")}
CHECKS |= {f"{TABLE}_change_rate"}


@pytest.fixture
def wh(wh: Warehouse, market: Market, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    monkeypatch.setenv("KIS_SYMBOLS", "005930")
    monkeypatch.setenv("KIS_ELW_SYMBOLS", ",".join(CODES))
    seed.seed_calendar(wh, market, years=[2026])
    return wh


def test_a_night_is_one_call_per_elw_and_every_greek_is_the_models(
    wh: Warehouse, market: Market
) -> None:
    result = seed.run_assets([ASSET], partition_range=NIGHT)
    checks = seed.check_evaluations(result)
    assert set(checks) == CHECKS
    assert all(e.passed for e in checks.values()), checks
    meta = seed.materialization_metadata(result, TABLE)
    assert seed.tr_calls(meta, TR_ID) == len(CODES) == meta["calls_planned"] == 4
    frame = wh.read(TABLE)
    assert sorted(frame.select("date", "symbol").rows()) == sorted(
        (day, code) for day in DAYS for code in CODES
    )
    for row in frame.iter_rows(named=True):
        bar = market.elw_bar(row["symbol"], row["date"])
        assert bar is not None
        elw = BY_CODE[row["symbol"]]
        truth = greeks(market.config.seed, elw, row["date"], bar.underlying_close)
        assert (row["close"], row["change"]) == (bar.close, bar.close - bar.prev_close)
        assert row["theoretical_price"] == round(truth.theoretical, 2)
        assert row["delta"] == round(truth.delta, 4)
        assert row["gamma"] == round(truth.gamma, 8)
        assert (row["theta"], row["vega"], row["rho"]) == (
            round(truth.theta, 4),
            round(truth.vega, 4),
            round(truth.rho, 4),
        )
        # The traded close sits on the 5 KRW tick around the theoretical value.
        assert abs(row["close"] - row["theoretical_price"]) <= 2.5 + 1e-9 or row["close"] == 5
        assert (0 <= row["delta"] <= 1) if elw.kind == "call" else (-1 <= row["delta"] <= 0)
        assert row["gamma"] > 0 and row["vega"] > 0 and row["theta"] < 0


def test_paper_skips_in_one_line(wh: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIS_ENV", "paper")
    result = seed.run_assets([ASSET], partition_key=NIGHT[1])
    meta = seed.materialization_metadata(result, TABLE)
    assert "paper (mock) service has no sensitivity-trend-daily" in meta["skipped"]
    assert "\n" not in meta["skipped"] and seed.tr_calls(meta, TR_ID) == 0
    assert wh.partitions(TABLE) == []


test_a_garbled_greek_is_refused_and_an_impossible_delta_fails_its_rule = garbled_record_test(
    ASSET,
    TABLE,
    TR_ID,
    symbol="57K003",
    day=DAYS[1],
    night=NIGHT,
    rows=2 * 4,
    env={"KIS_ELW_SYMBOLS": ",".join(CODES)},
    cases=[("gama", "0.0000x1", None), ("delta_val", "1.4000", "elw_greeks_delta")],
)
