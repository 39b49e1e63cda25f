"""`market_daily` from the warehouse, point in time and with no call: market cap from the day's
master snapshot and close, PER/PBR from the newest annual EPS/BPS KIS showed by then; a day
before any snapshot has no shares, which the warning check names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.defs.corporate.market_daily import market_daily
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from tests.defs import seed
from tests.helpers.research_data import frame_like
from tests.helpers.simulator import SIM_CONFIG, SIM_NOW, own_simulator

server, market = own_simulator(seed.fast_config(SIM_CONFIG, universe=12))
_warehouse = seed.warehouse_at(SIM_NOW)
DAYS = (dt.date(2026, 11, 16), dt.date(2026, 11, 20))
SNAPSHOT = dt.date(2026, 11, 17)  # the first master snapshot kept


def _ratios(symbols: list[str], as_of: dt.date, period: str, eps: float) -> pl.DataFrame:
    n = len(symbols)
    return frame_like(
        "financial_ratios",
        {
            "as_of": [as_of] * 2 * n,
            "symbol": symbols * 2,
            "period": [period] * n + ["202406"] * n,
            "period_type": ["annual"] * n + ["quarter"] * n,
            "eps": [eps] * n + [1.0] * n,
            "bps": [eps * 10] * n + [1.0] * n,
        },
    )


def test_market_cap_and_valuation_are_those_of_each_close(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch)
    days = market.trading_days(*DAYS)
    seed.seed_daily_prices(wh, market, days)
    wh.write_partition(
        "symbols",
        SNAPSHOT.isoformat(),
        wh.read("symbols").with_columns(pl.lit(SNAPSHOT).alias("date")),
    )
    for key in [p for p in wh.partitions("symbols") if p != SNAPSHOT.isoformat()]:
        wh.write_partition("symbols", key, wh.read("symbols", [key]).clear())
    symbols = [x.symbol for x in market.listings]
    # An older annual report, then a newer one shown from 2026-11-19 on.
    wh.write_partition(
        "financial_ratios", "2026-11-01", _ratios(symbols, dt.date(2026, 11, 1), "202412", 1000.0)
    )
    wh.write_partition(
        "financial_ratios", "2026-11-19", _ratios(symbols, dt.date(2026, 11, 19), "202512", 2000.0)
    )

    result = seed.run_assets([market_daily], partition_range=tuple(d.isoformat() for d in DAYS))
    checks = seed.check_evaluations(result)
    assert checks["market_daily_unique_keys"].passed and checks["market_daily_complete"].passed
    # 2026-11-16 is before the first snapshot: no shares, and the warning says so.
    assert not checks["market_daily_shares_known"].passed
    assert seed.materialization_metadata(result, "market_daily")["calls"] == 0
    frame = wh.read("market_daily").sort("date", "symbol")
    assert frame.height == len(days) * len(symbols)
    shares = {x.symbol: x.listed_shares for x in market.listings}
    for row in frame.iter_rows(named=True):
        close = market.bar(row["symbol"], row["date"]).close
        assert row["close"] == close
        if row["date"] < SNAPSHOT:
            assert row["listed_shares"] is None and row["market_cap"] is None
            continue
        assert row["market_cap"] == close * shares[row["symbol"]]
        eps = 2000.0 if row["date"] >= dt.date(2026, 11, 19) else 1000.0
        assert row["eps"] == eps and row["per"] == pytest.approx(close / eps, abs=0.0051)
        assert row["pbr"] == pytest.approx(close / (eps * 10), abs=0.0051)
        assert row["period"] == ("202512" if eps == 2000.0 else "202412")
        assert row["foreign_ratio"] is None
