"""`overseas_daily_prices` on every exchange §13.3 serves: the Shanghai, Shenzhen and Vietnam
markets against the simulator's truth, each exchange's day closing at its own local time, and a
ticker on the wrong (or an unknown) exchange refused in one line with nothing written."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from kis_pipeline.common.overseas_exchanges import EXCHANGES
from kis_pipeline.defs.prices import overseas_daily_prices
from kis_pipeline.defs.resources import RESOURCES
from kis_pipeline.ingest.overseas_prices import last_closed_day
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_overseas import last_completed_day
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs.seed import fast_config, point_at
from tests.helpers.simulator import SIM_CONFIG

warnings.filterwarnings("ignore", category=dg.BetaWarning)

MARKET = Market(fast_config(SIM_CONFIG))
TABLE = "overseas_daily_prices"
NEW_TICKERS = ["SHS:600519", "SHI:000001", "SZS:000858", "SZI:399001", "HSX:VNM", "HNX:PVS"]


@pytest.fixture
def wh(fast_sim: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    point_at(fast_sim, tmp_path / "wh", tmp_path / "state", monkeypatch)
    return Warehouse(tmp_path / "wh")


def run(tickers: list[str], start: dt.date, end: dt.date) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [overseas_daily_prices],
        resources=RESOURCES,  # type: ignore[arg-type]
        tags={
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
        },
        run_config={"ops": {TABLE: {"config": {"tickers": tickers}}}},
        raise_on_error=False,
    )


def failure_of(result: dg.ExecuteInProcessResult) -> str:
    data = result.get_step_failure_events()[0].step_failure_data
    return data.user_failure_data.description if data.user_failure_data else data.error.message


def test_the_new_exchanges_equal_the_market(wh: Warehouse) -> None:
    start, end = dt.date(2026, 9, 21), dt.date(2026, 10, 16)
    result = run(NEW_TICKERS, start, end)
    assert result.success
    frame = wh.read(TABLE)
    for ticker in NEW_TICKERS:
        exchange, symbol = ticker.split(":")
        bars = MARKET.overseas_bars(exchange, symbol, start, end)
        got = frame.filter((pl.col("exchange") == exchange) & (pl.col("symbol") == symbol))
        got = got.sort("date")
        assert got["date"].to_list() == [b.date for b in bars], ticker
        assert got["close"].to_list() == pytest.approx([b.close for b in bars]), ticker
        assert set(got["currency"]) == {EXCHANGES[exchange].currency}, ticker
    # Vietnamese prices are whole dong.
    dong = frame.filter(pl.col("currency") == "VND")
    assert dong.height and all((dong[c] == dong[c].round(0)).all() for c in ("open", "close"))


@pytest.mark.parametrize(
    ("tickers", "said"),
    [
        (["NAS:AAPL", "HNX:AAPL"], "HNX:AAPL not listed there"),
        (["NAS:AAPL", "XXX:AAPL"], "unknown exchange 'XXX'; use one of NAS, NYS"),
    ],
)
def test_a_ticker_on_the_wrong_exchange_is_one_line_and_no_write(
    wh: Warehouse, tickers: list[str], said: str
) -> None:
    result = run(tickers, dt.date(2026, 10, 12), dt.date(2026, 10, 16))
    assert not result.success
    message = failure_of(result)
    assert said in message and "\n" not in message
    assert wh.partitions(TABLE) == []


@pytest.mark.parametrize("code", sorted(EXCHANGES))
def test_each_exchanges_day_closes_at_its_own_local_close(code: str) -> None:
    # Wednesday 18 November 2026, one minute before and at the exchange's local close: the
    # pipeline's idea of the last closed day is the simulator's, on every exchange.
    exchange = EXCHANGES[code]
    close = dt.datetime.combine(dt.date(2026, 11, 18), exchange.close, tzinfo=exchange.zone)
    for now, expected in (
        (close - dt.timedelta(minutes=1), dt.date(2026, 11, 17)),
        (close, dt.date(2026, 11, 18)),
    ):
        assert last_closed_day(code, now) == expected, now
        assert last_completed_day(code, now) == expected, now
