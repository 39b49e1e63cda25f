"""`overseas_minute_bars` against the simulator's truth: the newest regular session of a US and
a Hong Kong stock, lunch break left out, in 4 and 3 calls, adding up to the day's bar; a ticker
on the wrong exchange in one line with the others written; a malformed setting in one line."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.cli.dagster_runner import step_errors
from kis_pipeline.common.clock import KST
from kis_pipeline.common.overseas_exchanges import EXCHANGES
from kis_pipeline.defs.intraday.overseas_minute_bars import overseas_minute_bars
from kis_pipeline.kis.errors import KisConfigError
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_minutes import overseas_minute_bars as simulated
from kis_pipeline.simulator.server import SimulatorServer
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG, SIM_NOW, own_simulator

server, market = own_simulator(seed.fast_config(SIM_CONFIG, universe=12))
_warehouse = seed.warehouse_at(SIM_NOW, unset=("KIS_OVERSEAS_MINUTE_SYMBOLS",))
PAIRS = (("NAS", "AAPL"), ("HKS", "00700"))


def _truth(market: Market, excd: str, ticker: str) -> pl.DataFrame:
    day = market.overseas_last_day(excd)
    [bar] = market.overseas_bars(excd, ticker, day, day)
    zone = EXCHANGES[excd].zone
    rows = [
        (
            day,
            m.start.replace(tzinfo=zone).astimezone(KST),
            m.open,
            m.high,
            m.low,
            m.close,
            m.volume,
        )
        for m in simulated(market.config.seed, excd, ticker, bar)
    ]
    return pl.DataFrame(
        rows, schema=["date", "ts", "open", "high", "low", "close", "volume"], orient="row"
    )


def test_the_newest_sessions_bars_of_each_stock_add_up_to_its_day(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(
        server, market, tmp_path, monkeypatch, KIS_OVERSEAS_MINUTE_SYMBOLS="NAS:AAPL,HKS:00700"
    )
    result = seed.run_assets([overseas_minute_bars])
    checks = seed.check_evaluations(result)
    assert checks and all(c.passed for c in checks.values())
    # 390 US bars at 120 a call, 330 Hong Kong bars (the lunch break has none).
    assert (
        seed.tr_calls(
            seed.materialization_metadata(result, "overseas_minute_bars"), "HHDFS76950200"
        )
        == 4 + 3
    )
    stored = wh.read("overseas_minute_bars")
    for excd, ticker in PAIRS:
        truth = _truth(market, excd, ticker)
        mine = stored.filter((pl.col("exchange") == excd) & (pl.col("symbol") == ticker)).sort("ts")
        assert (
            mine.select(truth.columns)
            .with_columns(pl.col("ts").dt.convert_time_zone("UTC"))
            .equals(truth.with_columns(pl.col("ts").dt.convert_time_zone("UTC")))
        ), excd
        day = market.overseas_last_day(excd)
        [bar] = market.overseas_bars(excd, ticker, day, day)
        assert mine["volume"].sum() == bar.volume and mine["close"][-1] == pytest.approx(bar.close)
    assert len(stored.filter(pl.col("exchange") == "HKS")) == 330


def test_a_ticker_on_the_wrong_exchange_is_one_line_and_the_others_are_written(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(
        server, market, tmp_path, monkeypatch, KIS_OVERSEAS_MINUTE_SYMBOLS="HNX:AAPL,NAS:AAPL"
    )
    failed = seed.run_assets([overseas_minute_bars], raise_on_error=False)
    errors = step_errors(failed)
    assert len(errors) == 1 and "KIS has no minute bars of HNX:AAPL" in errors[0], errors
    assert set(wh.read("overseas_minute_bars")["exchange"]) == {"NAS"}


def test_a_malformed_watchlist_is_one_line() -> None:
    with pytest.raises(KisConfigError, match="KIS_OVERSEAS_MINUTE_SYMBOLS has 'XXX:AAPL'"):
        KisSettings.from_env({"KIS_ENV": "sim", "KIS_OVERSEAS_MINUTE_SYMBOLS": "NAS:AAPL,XXX:AAPL"})


def test_without_a_watchlist_the_run_says_why(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _warehouse(server, market, tmp_path, monkeypatch)
    result = seed.run_assets([overseas_minute_bars])
    meta = seed.materialization_metadata(result, "overseas_minute_bars")
    assert "KIS_OVERSEAS_MINUTE_SYMBOLS is not set" in meta["skipped"]
