"""The realistic soak (slow): every batch asset for 20 symbols over ten years on a fresh
warehouse, then the same command with `--missing`, which must make no call at all.

Run with `make test-slow` (or `pytest -m slow tests/test_backfill_soak.py -s`); it prints the
wall time and the calls each pass made, which bench/README.md records.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.cli.backfill import run_backfill
from kis_pipeline.cli.backfill_plan import BackfillRequest
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs.seed import served
from tests.helpers.simulator import sim_environ
from tests.helpers.wall_clock_sim import CONFIG, MARKET, ready_day

SYMBOLS = tuple(listing.symbol for listing in MARKET.listings[:20])
YEARS = 10


@pytest.mark.slow
@pytest.mark.timeout(7200)  # tens of minutes at the product's rate limit; the default is 300 s
def test_ten_years_of_every_asset_then_missing_makes_no_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    end = ready_day()
    start = end.replace(year=end.year - YEARS)
    with SimulatorServer(CONFIG) as sim:
        environ = sim_environ(sim, tmp_path / "state", KIS_WAREHOUSE=str(tmp_path / "wh"))
        for name in ("KIS_SYMBOLS", "KIS_MASTER_URL", "DAGSTER_HOME", "KIS_RATE_LIMIT"):
            monkeypatch.delenv(name, raising=False)
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        key = environ["KIS_APP_KEY"]

        request = BackfillRequest(start, end, symbols=SYMBOLS)
        began = time.monotonic()
        out = io.StringIO()
        summary = run_backfill(request, stream=io.StringIO(), out=out)
        first_s, first_calls = time.monotonic() - began, served(sim, key)
        assert summary.ok, out.getvalue()
        assert not {c for run in summary.runs for c in run.checks_failed}, out.getvalue()

        began = time.monotonic()
        again = io.StringIO()
        rerun = run_backfill(
            BackfillRequest(start, end, symbols=SYMBOLS, missing=True), stream=again, out=again
        )
        second_s, second_calls = time.monotonic() - began, served(sim, key) - first_calls
        assert rerun.ok and second_calls == 0, again.getvalue()
        assert "nothing to do" in again.getvalue()
    print(
        f"\nsoak {start}..{end}, {len(SYMBOLS)} symbols: {first_calls} calls in {first_s:.0f} s "
        f"({first_calls / first_s:.1f}/s); --missing: {second_calls} calls in {second_s:.1f} s"
    )
    print(out.getvalue())

    wh = Warehouse(tmp_path / "wh")
    sessions = MARKET.trading_days(start, end)
    prices = wh.read("daily_prices").filter(pl.col("date").is_between(start, end))
    assert prices.height == len(sessions) * len(SYMBOLS)
    calendar = wh.read("trading_calendar").filter(pl.col("date").is_between(start, end))
    assert calendar.height == (end - start).days + 1
    assert dt.date(2020, 1, 1) not in set(
        calendar.filter(pl.col("is_trading_day"))["date"].to_list()
    )
