"""The venue of the daily prices (`KIS_VENUE`): KRX by default, Nextrade (NXT) alone, or both
summed, end to end against the simulator's truth: the range backfill through the chart, the
nightly run through the multi-quote (cross-checked against the chart on the same venue), the
`venue` column, NXT's universe taken from stock basic info, and a wrong value in one line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.cli.dagster_runner import step_errors
from kis_pipeline.defs.prices import daily_prices
from kis_pipeline.defs.prices.assets import SOURCE_TAG
from kis_pipeline.kis.errors import KisConfigError
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.simulator.venues import NXT_START, nxt_tradable, on_venue
from kis_pipeline.warehouse import Warehouse
from tests.defs import seed
from tests.helpers.research_data import frame_like
from tests.helpers.simulator import SIM_CONFIG, own_simulator

CONFIG = seed.fast_config(SIM_CONFIG, universe=24, start=dt.date(2025, 1, 2))
# Across NXT's first session (2025-03-04): before it only KRX traded.
OPENING = (dt.date(2025, 2, 24), dt.date(2025, 3, 7))
CODES = {"KRX": "J", "NXT": "NX", "KRX+NXT": "UN"}


server, market = own_simulator(CONFIG)


def _warehouse(
    server: SimulatorServer,
    market: Market,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    venue: str,
) -> Warehouse:
    return seed.seeded_fast(monkeypatch, server, market, tmp_path, KIS_VENUE=venue)


def _truth(market: Market, venue: str, days: list[dt.date]) -> pl.DataFrame:
    rows = []
    for listing in market.listings:
        for day in days:
            bar = on_venue(CODES[venue], listing, market.bar(listing.symbol, day))
            if bar is not None:
                rows.append(
                    (day, listing.symbol, bar.open, bar.high, bar.low, bar.close, bar.volume)
                )
    columns = ["date", "symbol", "open", "high", "low", "close", "volume"]
    return pl.DataFrame(rows, schema=columns, orient="row").sort("date", "symbol")


def _stored(wh: Warehouse) -> pl.DataFrame:
    return wh.read("daily_prices").sort("date", "symbol")


def test_the_combined_market_sums_both_venues_from_nxts_first_session(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch, "KRX+NXT")
    result = seed.run_assets([daily_prices], partition_range=tuple(d.isoformat() for d in OPENING))
    assert all(e.passed for e in seed.check_evaluations(result).values())
    days = market.trading_days(*OPENING)
    stored = _stored(wh)
    truth = _truth(market, "KRX+NXT", days)
    assert stored.select(truth.columns).equals(truth)
    assert set(stored["venue"].to_list()) == {"KRX+NXT"}
    # Where NXT traded, the combined volume is more than KRX's; before it opened, KRX's alone.
    krx = (
        _truth(market, "KRX", days)
        .rename({"volume": "krx_volume"})
        .select("date", "symbol", "krx_volume")
    )
    both = stored.join(krx, on=["date", "symbol"])
    tradable = {x.symbol for x in market.listings if nxt_tradable(x)}
    assert tradable, "the test needs a name traded on NXT"
    on_nxt = both.filter((pl.col("date") >= NXT_START) & pl.col("symbol").is_in(sorted(tradable)))
    assert on_nxt.height and (on_nxt["volume"] > on_nxt["krx_volume"]).all()
    elsewhere = both.filter(
        (pl.col("date") < NXT_START) | ~pl.col("symbol").is_in(sorted(tradable))
    )
    assert (elsewhere["volume"] == elsewhere["krx_volume"]).all()


def test_nxt_alone_prices_the_names_stock_info_lists_as_tradable_there(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch, "NXT")
    span = tuple(d.isoformat() for d in (NXT_START, OPENING[1]))
    # Without stock basic info the NXT universe is unknown: one line, nothing written.
    failed = seed.run_assets([daily_prices], partition_range=span, raise_on_error=False)
    assert not failed.success
    assert any("materialize stock_info first" in line for line in step_errors(failed))
    assert not wh.partitions("daily_prices")

    as_of = market.last_completed_session()
    listings = market.listings
    wh.write_partition(
        "stock_info",
        as_of.isoformat(),
        frame_like(
            "stock_info",
            {
                "as_of": [as_of] * len(listings),
                "symbol": [x.symbol for x in listings],
                "is_nxt_tradable": [nxt_tradable(x) for x in listings],
            },
        ),
    )
    result = seed.run_assets([daily_prices], partition_range=span)
    assert all(e.passed for e in seed.check_evaluations(result).values())
    truth = _truth(market, "NXT", market.trading_days(NXT_START, OPENING[1]))
    stored = _stored(wh)
    assert stored.select(truth.columns).equals(truth)
    assert set(stored["symbol"].to_list()) == {x.symbol for x in listings if nxt_tradable(x)}
    assert set(stored["venue"].to_list()) == {"NXT"}


def test_the_nightly_multi_quote_agrees_with_the_chart_on_the_combined_market(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch, "KRX+NXT")
    day = market.last_completed_session()
    result = seed.run_assets(
        [daily_prices], partition_key=day.isoformat(), tags={SOURCE_TAG: "multi_quote"}
    )
    assert all(e.passed for e in seed.check_evaluations(result).values())
    assert seed.materialization_metadata(result, "daily_prices")["source"] == "multi_quote"
    truth = _truth(market, "KRX+NXT", [day])
    assert _stored(wh).select(truth.columns).equals(truth)


def test_a_venue_kis_does_not_have_is_one_line() -> None:
    with pytest.raises(KisConfigError, match=r"KIS_VENUE='TSE' is not known; use one of KRX"):
        KisSettings.from_env({"KIS_VENUE": "TSE"}, dotenv=None)
    assert KisSettings.from_env({"KIS_VENUE": "krx+nxt"}, dotenv=None).market_code == "UN"
