"""`stock_status` (SPEC §7.2) against the simulator's books: every listed name's trading status
after the session, one call each, its flags those the day's bar and short sales imply (a VI
day, a short-sale overheating day); paper skips it in one line; a record with a garbled flag is
refused, counted and fails its checks."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.defs.company.assets import BUILT
from kis_pipeline.simulator.config import FaultSpec
from kis_pipeline.simulator.corrupt import Corruption
from kis_pipeline.simulator.market import Market, price_limits
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.simulator.status_flags import CAUTION_RISE, OVERHEAT_DROP, VI_MOVE
from tests.defs import seed
from tests.helpers.simulator import KST, SIM_CONFIG

STATUS = BUILT["stock_status"].asset
# Sessions of the simulator's history (universe 40, seed 11) with a VI and with a short-sale
# overheating designation: the flags must show them.
VI_DAY, VI_SYMBOL = dt.date(2026, 11, 13), "068270"
OVERHEAT_DAY, OVERHEAT_SYMBOL = dt.date(2026, 11, 18), "066570"


def _config(day: dt.date, **faults: object):  # type: ignore[no-untyped-def]
    now = dt.datetime.combine(day, dt.time(18, 0), tzinfo=KST)
    config = seed.fast_config(dataclasses.replace(SIM_CONFIG, now=now), universe=40)
    return dataclasses.replace(config, faults=FaultSpec(**faults)) if faults else config


@pytest.fixture(scope="module", params=[VI_DAY, OVERHEAT_DAY], ids=["vi", "overheat"])
def server(request: pytest.FixtureRequest) -> Iterator[SimulatorServer]:
    with SimulatorServer(_config(request.param)) as running:
        yield running


def _expected(market: Market, symbol: str, day: dt.date) -> dict[str, object]:
    """What the day's bar and short sales say of `symbol`, by KRX's rules as the simulator
    applies them."""
    bar = market.daily_bars(symbol, day, day)[0]
    base = bar.prev_close
    move = (bar.close - base) / base
    short = market.activity(symbol, day)
    upper, lower = price_limits(base)
    return {
        "price": bar.close,
        "volume": bar.volume,
        "base_price": base,
        "upper_limit": upper,
        "lower_limit": lower,
        "halted": False,
        "vi_applied": bar.high >= base * (1 + VI_MOVE) or bar.low <= base * (1 - VI_MOVE),
        "short_sale_overheat": move <= OVERHEAT_DROP and short.short_value / bar.value >= 0.05,
        "investment_caution": move >= CAUTION_RISE,
        "market_warning": "caution" if move >= CAUTION_RISE else "none",
    }


def test_every_listed_name_has_its_status_of_the_session(
    server: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = server.state.market
    day = market.config.now.date()
    wh = seed.seeded_fast(monkeypatch, server, market, tmp_path, now=market.config.now)
    result = seed.run_assets([STATUS])
    checks = seed.check_evaluations(result)
    assert checks and all(c.passed for c in checks.values())
    listed = {
        listing.symbol for listing in market.listings if market.daily_bars(listing.symbol, day, day)
    }
    meta = seed.materialization_metadata(result, "stock_status")
    assert seed.tr_calls(meta, "FHPST01010000") == meta["calls_planned"]

    stored = wh.read("stock_status", [day.isoformat()])
    rows = {row["symbol"]: row for row in stored.iter_rows(named=True)}
    assert listed <= set(rows)
    for symbol in listed:
        expected = _expected(market, symbol, day)
        assert {k: rows[symbol][k] for k in expected} == expected, symbol
    flagged = {s for s, row in rows.items() if row["vi_applied"] or row["short_sale_overheat"]}
    assert {VI_SYMBOL, OVERHEAT_SYMBOL} & flagged == (
        {VI_SYMBOL} if day == VI_DAY else {OVERHEAT_SYMBOL}
    )


def test_paper_has_no_status_endpoint_and_skips_it_in_one_line(
    server: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = server.state.market
    wh = seed.seeded_fast(
        monkeypatch, server, market, tmp_path, now=market.config.now, KIS_ENV="paper"
    )
    result = seed.run_assets([STATUS])
    meta = seed.materialization_metadata(result, "stock_status")
    assert meta["skipped"] == (
        "stock_status skipped: KIS's paper (mock) service has no inquire-price-2 (SPEC §16)"
    )
    assert wh.partitions("stock_status") == []


def test_a_garbled_flag_is_refused_counted_and_fails_the_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = (Corruption("mrkt_warn_cls_code", "9X", VI_SYMBOL, None, "FHPST01010000"),)
    with SimulatorServer(_config(VI_DAY, corrupt=bad)) as server:
        market = server.state.market
        wh = seed.seeded_fast(monkeypatch, server, market, tmp_path, now=market.config.now)
        result = seed.run_assets([STATUS], raise_on_error=False)
    checks = seed.check_evaluations(result)
    assert not checks["stock_status_no_rejects"].passed
    assert not checks["stock_status_complete"].passed
    stored = wh.read("stock_status")
    assert VI_SYMBOL not in stored["symbol"].to_list() and stored.height > 0
    rejects = wh.read("rest_rejects").filter(pl.col("target_table") == "stock_status")
    assert rejects["symbol"].to_list() == [VI_SYMBOL]
