"""KOSPI200 futures and options daily bars against the simulator's model: the night's chain
(two futures, calls and puts around the money) stored as the model prices it, the snapshot
columns only while the day is the newest session, a rerun writes the same rows, paper runs it
too, a day not yet settled is one line and no write, an unknown code is KIS's error, and a
garbled bar is refused, counted and fails the checks."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.common.krx_derivatives import (
    CALL,
    FUTURE,
    Contract,
    front_futures,
    front_option_month,
    option_chain,
    parse_code,
)
from kis_pipeline.defs.market_activity.futures_options import (
    futures_options_daily,
    parity_breaks,
)
from kis_pipeline.kis.endpoints import futures_options as endpoint
from kis_pipeline.kis.endpoints.futures_options import DAILY_CHART, TABLE, calls_per_day
from kis_pipeline.simulator.corrupt import Corruption
from kis_pipeline.simulator.faults import FaultSpec
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_derivatives import derivative_bar
from kis_pipeline.simulator.rest_market import MarketView
from kis_pipeline.simulator.server import SimulatorServer
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG, SIM_NOW, own_simulator

CONFIG = seed.fast_config(SIM_CONFIG, universe=40)
server, market = own_simulator(CONFIG)
DAY = SIM_NOW.date()  # Friday 2026-11-20
EARLIER = dt.date(2026, 11, 12)  # the November options' expiry day (second Thursday)

_warehouse = seed.warehouse_at(SIM_NOW)


def test_codes_follow_krx_and_the_expiry_calendar() -> None:
    assert Contract(FUTURE, 2025, 9).code == "101W9000"
    # The year cycle starts again after W (2025): 2026 is 6.
    assert Contract(FUTURE, 2026, 12).code == "1016C000"
    assert Contract(CALL, 2027, 3, 402.5).code == "20173402"
    assert parse_code("1016C000", DAY) == Contract(FUTURE, 2026, 12)
    assert Contract(CALL, 2025, 9, 340.0).code == "201W9340"
    assert Contract("put", 2025, 12, 342.5).code == "301WC342"
    assert parse_code("301WC342", dt.date(2025, 11, 1)) == Contract("put", 2025, 12, 342.5)
    assert parse_code("101W9001", DAY) is None
    # Second Thursdays; on the November expiry day the November options still trade.
    assert Contract(FUTURE, 2026, 12).expiry == dt.date(2026, 12, 10)
    assert [c.expiry_month for c in front_futures(DAY)] == ["202612", "202703"]
    assert front_option_month(EARLIER) == (2026, 11)
    assert front_option_month(DAY) == (2026, 12)
    chain = option_chain(DAY, 400.9)
    assert sorted({c.strike for c in chain}) == [395.0, 397.5, 400.0, 402.5, 405.0]


def _truth(market: Market, day: dt.date) -> dict[str, object]:
    """The model's bars of the chain the pipeline plans for `day`, by code."""
    view = MarketView(market)
    futures = front_futures(day)
    nearest = derivative_bar(view, futures[0], day)
    assert nearest is not None
    contracts = [*futures, *option_chain(day, nearest.close)]
    return {c.code: (c, derivative_bar(view, c, day)) for c in contracts}


def _assert_stored_is_the_model(stored: pl.DataFrame, market: Market, day: dt.date) -> None:
    truth = _truth(market, day)
    assert sorted(stored["symbol"]) == sorted(truth)
    for row in stored.iter_rows(named=True):
        contract, bar = truth[row["symbol"]]
        assert bar is not None
        assert (row["kind"], row["expiry_month"]) == (contract.kind, contract.expiry_month)
        assert row["strike"] == contract.strike
        got = [row[c] for c in ("open", "high", "low", "close", "volume", "value")]
        assert got == [bar.open, bar.high, bar.low, bar.close, bar.volume, bar.value]
        if day == DAY:
            assert row["open_interest"] == bar.open_interest
            assert row["underlying"] == bar.underlying
            assert row["theoretical"] == bar.theoretical
            assert row["basis"] == pytest.approx(bar.close - bar.underlying, abs=0.006)
        else:
            assert row["open_interest"] is None and row["underlying"] is None


def test_the_nights_chain_is_stored_as_the_model_prices_it(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch)
    result = seed.run_assets([futures_options_daily], partition_key=DAY.isoformat())
    checks = seed.check_evaluations(result)
    assert all(c.passed for c in checks.values()), [n for n, c in checks.items() if not c.passed]
    assert len(checks) == 5
    meta = seed.materialization_metadata(result, TABLE)
    assert seed.tr_calls(meta, DAILY_CHART.tr_id) == calls_per_day() == 12
    stored = wh.read(TABLE)
    assert stored.height == 12 and set(stored["date"]) == {DAY}
    _assert_stored_is_the_model(stored, market, DAY)
    # Futures track the index within their carry; the basis shrinks toward expiry.
    futures = stored.filter(pl.col("kind") == FUTURE).sort("expiry_month")
    assert all(
        0 < b < 0.01 * u for b, u in zip(futures["basis"], futures["underlying"], strict=True)
    )
    assert futures["basis"][0] < futures["basis"][1]

    # The parity rule sees a put whose close strays by more than 1 % of the futures.
    assert parity_breaks(stored).is_empty()
    atm_put = stored.filter(pl.col("kind") == "put").sort("strike")["symbol"][2]
    strayed = pl.col("close") + pl.when(pl.col("symbol") == atm_put).then(5.0).otherwise(0.0)
    broken = parity_breaks(stored.with_columns(strayed.alias("close")))
    assert broken["strike"].to_list() == [stored.filter(pl.col("symbol") == atm_put)["strike"][0]]

    # A rerun writes the same rows.
    before = stored.sort("symbol")
    seed.run_assets([futures_options_daily], partition_key=DAY.isoformat())
    assert wh.read(TABLE).sort("symbol").equals(before)


def test_a_backfilled_day_has_its_bars_but_no_snapshot(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch)
    seed.run_assets([futures_options_daily], partition_key=EARLIER.isoformat())
    stored = wh.read(TABLE)
    assert set(stored["expiry_month"]) == {"202612", "202703", "202611"}
    _assert_stored_is_the_model(stored, market, EARLIER)


def test_on_saturday_friday_is_still_the_newest_session_and_keeps_its_snapshot(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saturday = seed.warehouse_at(SIM_NOW + dt.timedelta(hours=16))
    wh = saturday(server, market, tmp_path, monkeypatch)
    seed.run_assets([futures_options_daily], partition_key=DAY.isoformat())
    _assert_stored_is_the_model(wh.read(TABLE), market, DAY)


def test_paper_serves_the_tr_and_the_asset_runs(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch, KIS_ENV="paper")
    result = seed.run_assets([futures_options_daily], partition_key=DAY.isoformat())
    assert "skipped" not in seed.materialization_metadata(result, TABLE)
    assert wh.read(TABLE).height == calls_per_day()


def _failure(result: object) -> str:
    """The message of the run's failed step."""
    events = result.all_events  # type: ignore[attr-defined]
    failure = next(e for e in events if e.event_type_value == "STEP_FAILURE")
    return str(failure.step_failure_data.error.message).split("Failure: ", 1)[-1].strip()


def test_a_day_after_today_is_one_line_and_no_write(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch)
    result = seed.run_assets(
        [futures_options_daily], partition_key="2026-11-23", raise_on_error=False
    )
    assert not result.success
    assert _failure(result).startswith(f"{TABLE}: ") and "nothing was written" in _failure(result)
    assert wh.partitions(TABLE) == []


def test_a_code_kis_does_not_list_is_one_line_and_no_write(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch)
    # Futures two years out are not listed yet: KIS answers its unknown-code error.
    unlisted = [Contract(FUTURE, 2028, 12)]
    monkeypatch.setattr(endpoint, "front_futures", lambda day: unlisted)
    result = seed.run_assets(
        [futures_options_daily], partition_key=DAY.isoformat(), raise_on_error=False
    )
    assert not result.success
    message = _failure(result)
    assert f"KIS refused a code of the {DAY} chain" in message and "nothing written" in message
    assert wh.partitions(TABLE) == []


def test_the_simulator_refuses_an_unknown_code(server: SimulatorServer) -> None:
    from kis_pipeline.simulator.rest_common import BusinessError, Params
    from kis_pipeline.simulator.rest_futures_options import futures_options_chart

    view = MarketView(server.state.market)
    base = {
        "FID_INPUT_DATE_1": "20261120",
        "FID_INPUT_DATE_2": "20261120",
        "FID_PERIOD_DIV_CODE": "D",
    }
    # Not a year character; a futures code asked as an option; an option asked as a futures;
    # a contract not listed yet.
    unknown = (("F", "101XC000"), ("O", "1016C000"), ("F", "2016C400"), ("F", "1018C000"))
    for market_code, code in unknown:
        params = Params({**base, "FID_COND_MRKT_DIV_CODE": market_code, "FID_INPUT_ISCD": code})
        with pytest.raises(BusinessError) as err:
            futures_options_chart(view, params, "")
        assert err.value.msg_cd == "MCA05918"


def _atm_call(market: Market) -> str:
    truth = _truth(market, DAY)
    calls = sorted((c.strike, code) for code, (c, _) in truth.items() if c.kind == CALL)
    return calls[len(calls) // 2][1]


@pytest.fixture(scope="module")
def corrupt_server(server: SimulatorServer) -> Iterator[SimulatorServer]:
    garbled = _atm_call(server.state.market)
    bad = (Corruption("futs_prpr", "n/a", garbled, DAY, DAILY_CHART.tr_id),)
    with SimulatorServer(dataclasses.replace(CONFIG, faults=FaultSpec(corrupt=bad))) as running:
        yield running


def test_a_garbled_bar_is_refused_counted_and_fails_the_checks(
    corrupt_server: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = corrupt_server.state.market
    garbled = _atm_call(market)
    wh = _warehouse(corrupt_server, market, tmp_path, monkeypatch)
    result = seed.run_assets(
        [futures_options_daily], partition_key=DAY.isoformat(), raise_on_error=False
    )
    checks = seed.check_evaluations(result)
    assert not checks[f"{TABLE}_no_rejects"].passed
    assert not checks[f"{TABLE}_complete"].passed
    stored = wh.read(TABLE)
    assert garbled not in stored["symbol"].to_list() and stored.height == 11
    rejects = wh.read("rest_rejects").filter(pl.col("target_table") == TABLE)
    assert rejects["symbol"].to_list() == [garbled]
