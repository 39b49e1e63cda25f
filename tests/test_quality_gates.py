"""Quality gates through `kis-pipeline backfill`: a missing day, a symbol without bars or a
rejected record fails the command (exit 1, and the summary says which check) unless
`--allow-incomplete` is given; the healthy symbols are written either way. A rejected KOSPI
bar fails `index_daily` whatever the flag, since the calendar would read its day as closed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import warnings
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from kis_pipeline.cli.main import main
from kis_pipeline.simulator.config import FaultSpec
from kis_pipeline.simulator.corrupt import Corruption
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs.seed import FAST_RATE, fast_config, seed, use_simulator
from tests.helpers.simulator import SIM_CONFIG

warnings.filterwarnings("ignore", category=dg.BetaWarning)

CONFIG = fast_config(SIM_CONFIG)
FAST_CLIENT_RATE = str(FAST_RATE * 0.9)
MARKET = Market(CONFIG)
START, END = dt.date(2025, 4, 7), dt.date(2025, 4, 18)
DAYS = MARKET.trading_days(START, END)
A, B, C = (x.symbol for x in MARKET.listings[:3])
CHART, INDEX = "FHKST03010100", "FHKUP03500100"
FAULTS = FaultSpec(
    corrupt=(
        Corruption("stck_clpr", "", A, DAYS[2], CHART),  # a rejected record
        Corruption("*", "!drop", B, DAYS[4], CHART),  # a missing day
        Corruption("*", "!drop", C, None, CHART),  # a symbol with no bars at all
        Corruption("bstp_nmix_prpr", "abc", "0001", DAYS[6], INDEX),  # a broken KOSPI bar
    )
)


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(dataclasses.replace(CONFIG, faults=FAULTS)) as sim:
        yield sim


@pytest.fixture
def warehouse(
    server: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Warehouse:
    wh = use_simulator(monkeypatch, server, tmp_path, KIS_RATE_LIMIT=FAST_CLIENT_RATE)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    seed(wh, MARKET)
    return wh


def backfill(assets: str, *extra: str) -> int:
    return main(
        [
            "backfill",
            *("--from", START.isoformat(), "--to", END.isoformat()),
            *("--assets", assets, "--symbols", f"{A},{B},{C}", *extra),
        ]
    )


def stored(wh: Warehouse) -> set[tuple[dt.date, str]]:
    return set(wh.read("daily_prices").select("date", "symbol").iter_rows())


EXPECTED = {(day, s) for day in DAYS for s in (A, B)} - {(DAYS[2], A), (DAYS[4], B)}


def test_missing_rows_and_rejects_fail_the_command_and_say_which_check(
    warehouse: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    assert backfill("daily_prices") == 1
    out = capsys.readouterr().out
    assert "backfill: 0/1 run(s) succeeded" in out
    assert "checks failed: daily_prices_complete, daily_prices_no_rejects" in out
    assert "--allow-incomplete" in out
    assert "records rejected: daily_prices 1 (see the rest_rejects table)" in out
    # The healthy records were written all the same.
    assert stored(warehouse) == EXPECTED
    [reject] = warehouse.read("rest_rejects").to_dicts()
    assert (reject["symbol"], reject["date"], reject["field"]) == (A, DAYS[2], "stck_clpr")


def test_allow_incomplete_succeeds_and_still_warns(
    warehouse: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    assert backfill("daily_prices", "--allow-incomplete") == 0
    out = capsys.readouterr().out
    assert "backfill: 1/1 run(s) succeeded" in out
    assert "checks warned: daily_prices_complete, daily_prices_no_rejects" in out
    assert "checks failed" not in out
    assert stored(warehouse) == EXPECTED


def test_a_rejected_kospi_bar_fails_index_daily_even_when_incomplete_is_allowed(
    warehouse: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    assert backfill("index_daily", "--allow-incomplete") == 1
    out = capsys.readouterr().out
    assert f"the KOSPI bar of {DAYS[6]} was rejected" in out
    written = warehouse.partitions("index_daily")
    # Its day is not written (the calendar would read it as a holiday); the others are.
    assert DAYS[6].isoformat() not in written
    assert {d.isoformat() for d in DAYS if d != DAYS[6]} <= set(written)
    kospi = warehouse.read("index_daily").filter(pl.col("index_code") == "0001")
    assert sorted(kospi["date"]) == [d for d in DAYS if d != DAYS[6]]
