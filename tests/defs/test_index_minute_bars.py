"""`index_minute_bars` against the simulator's truth: the newest session's ten-minute bars of
the main indices in one call each, adding up to the day's index bars; older days skipped in one
line; one-minute bars reach back only 102 minutes, which the whole-session check reports; a
wrong bar length is one line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.common.clock import KST_NAME
from kis_pipeline.defs.intraday.index_minute_bars import index_minute_bars
from kis_pipeline.ingest.index_daily import INDEX_CODES
from kis_pipeline.kis.errors import KisConfigError
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_minutes import index_minute_bars as simulated
from kis_pipeline.simulator.rest_minutes import _buckets
from kis_pipeline.simulator.server import SimulatorServer
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG, SIM_NOW, own_simulator

server, market = own_simulator(seed.fast_config(SIM_CONFIG, universe=12))
WEEK = (dt.date(2026, 11, 16), dt.date(2026, 11, 20))


_warehouse = seed.warehouse_at(SIM_NOW, unset=("KIS_INDEX_BAR_SECONDS",))


def _truth(market: Market, day: dt.date, size: int) -> pl.DataFrame:
    rows = []
    for code in INDEX_CODES:
        [bar] = market.index_bars(code, day, day)
        bars = _buckets(simulated(market.config.seed, code, bar), size)
        midnight = dt.datetime.combine(day, dt.time())
        for b in bars:
            rows.append(
                (
                    code,
                    midnight + dt.timedelta(seconds=b.second),
                    b.open,
                    b.high,
                    b.low,
                    b.close,
                    b.volume // 1000 * 1000,
                )
            )
    columns = ["index_code", "ts", "open", "high", "low", "close", "volume"]
    frame = pl.DataFrame(rows, schema=columns, orient="row")
    return frame.with_columns(pl.col("ts").dt.replace_time_zone(KST_NAME)).sort("index_code", "ts")


def test_the_newest_sessions_ten_minute_bars_add_up_to_the_days_index_bars(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch)
    day = WEEK[1]
    result = seed.run_assets(
        [index_minute_bars], partition_range=tuple(d.isoformat() for d in WEEK)
    )
    checks = seed.check_evaluations(result)
    assert checks and all(c.passed for c in checks.values()), checks
    meta = seed.materialization_metadata(result, "index_minute_bars")
    assert "KIS serves only the newest session's index bars" in meta["skipped"]
    assert "4 day(s) from 2026-11-16 to 2026-11-19" in meta["skipped"]
    assert seed.tr_calls(meta, "FHKUP03500200") == len(INDEX_CODES)
    assert wh.partitions("index_minute_bars") == [day.isoformat()]
    stored = wh.read("index_minute_bars").sort("index_code", "ts")
    truth = _truth(market, day, 600)
    assert stored.select(truth.columns).equals(truth)
    assert set(stored["bar_seconds"]) == {600}
    # The session's bars together are the day's index bar: open, range, close.
    for code in INDEX_CODES:
        [bar] = market.index_bars(code, day, day)
        mine = stored.filter(pl.col("index_code") == code)
        assert mine["open"][0] == pytest.approx(bar.open) and mine["close"][-1] == pytest.approx(
            bar.close
        )
        assert mine["high"].max() == pytest.approx(bar.high) and mine["low"].min() == pytest.approx(
            bar.low
        )


def test_one_minute_bars_reach_back_102_minutes_and_the_check_says_so(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch, KIS_INDEX_BAR_SECONDS="60")
    day = WEEK[1]
    result = seed.run_assets([index_minute_bars], partition_key=day.isoformat())
    checks = seed.check_evaluations(result)
    assert not checks["index_minute_bars_whole_session"].passed
    stored = wh.read("index_minute_bars")
    assert stored.group_by("index_code").len()["len"].to_list() == [102] * len(INDEX_CODES)
    # The oldest bar's own value is unknown: what came before it is out of reach.
    firsts = stored.sort("ts").group_by("index_code").first()
    assert firsts["value"].null_count() == len(INDEX_CODES)
    assert stored["value"].null_count() == len(INDEX_CODES)


def test_a_wrong_bar_length_is_one_line() -> None:
    with pytest.raises(KisConfigError, match="KIS_INDEX_BAR_SECONDS must be one of 60, 600, 3600"):
        KisSettings.from_env({"KIS_ENV": "sim", "KIS_INDEX_BAR_SECONDS": "90"})
