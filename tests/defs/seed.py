"""Seed a test warehouse's reference tables (`trading_calendar`, `symbols`) straight from the
simulator's `Market`, so price assets can be tested without the calendar and universe assets."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import TABLES, Warehouse
from tests.helpers.simulator import sim_environ


def seed_calendar(wh: Warehouse, market: Market, years: Sequence[int] | None = None) -> None:
    """One `trading_calendar` partition per year, from the simulator's KRX calendar."""
    first = market.config.start.year
    last = market.last_completed_session().year + 1
    for year in years or range(first, last + 1):
        days = pl.date_range(dt.date(year, 1, 1), dt.date(year, 12, 31), eager=True).to_list()
        frame = pl.DataFrame(
            {
                "date": days,
                "is_business_day": [market.is_business_day(d) for d in days],
                "is_trading_day": [market.is_trading_day(d) for d in days],
                "is_market_open": [market.is_trading_day(d) for d in days],
                "is_settlement_day": [market.is_settlement_day(d) for d in days],
                "is_securities_business_day": [market.is_business_day(d) for d in days],
                "source": ["test-seed"] * len(days),
            },
            schema=TABLES["trading_calendar"].schema,
        )
        wh.write_partition("trading_calendar", str(year), frame)


def seed_symbols(wh: Warehouse, market: Market, day: dt.date | None = None) -> list[str]:
    """One `symbols` snapshot (default: the last completed session); returns the symbols."""
    day = day or market.last_completed_session()
    listings = market.listings
    frame = pl.DataFrame(
        {
            "date": [day] * len(listings),
            "symbol": [x.symbol for x in listings],
            "name": [x.name for x in listings],
            "market": [x.market for x in listings],
            "standard_code": [f"KR7{x.symbol}000" for x in listings],
            "security_group": ["ST"] * len(listings),
            "listed_shares": [x.listed_shares for x in listings],
            "par_value": [x.par_value for x in listings],
            "list_date": [x.list_date for x in listings],
            "market_cap": [None] * len(listings),
            "base_price": [None] * len(listings),
            "sector_large": [x.sector for x in listings],
            "is_halted": [False] * len(listings),
        },
        schema=TABLES["symbols"].schema,
    )
    wh.write_partition("symbols", day.isoformat(), frame)
    return frame["symbol"].to_list()


def seed_watchlist(
    wh: Warehouse, market: Market, monkeypatch: Any, symbols: Sequence[str], year: int, day: dt.date
) -> Warehouse:
    """A warehouse whose runs cover `symbols` (`KIS_SYMBOLS`), with `year`'s calendar and the
    universe of `day`."""
    monkeypatch.setenv("KIS_SYMBOLS", ",".join(symbols))
    seed_calendar(wh, market, years=[year])
    seed_symbols(wh, market, day)
    return wh


def seed(wh: Warehouse, market: Market) -> list[str]:
    seed_calendar(wh, market)
    return seed_symbols(wh, market)


# ---- calendar, universe, rankings, flows and fundamentals tests ------------------------------


def seed_daily_prices(
    wh: Warehouse,
    market: Market,
    days: Sequence[dt.date],
    symbols: Sequence[str] | None = None,
) -> None:
    """`daily_prices` partitions for `days` straight from the market's bars (as the daily chart
    reports them: `change` against the day's base price, split flags included)."""
    wanted = list(symbols) if symbols is not None else [x.symbol for x in market.listings]
    schema = TABLES["daily_prices"].schema
    frames = {}
    for day in days:
        bars = [(s, market.bar(s, day)) for s in wanted]
        rows = [
            {
                "date": day,
                "symbol": symbol,
                "open": bar.open,
                "high": bar.high,
                "low": bar.low,
                "close": bar.close,
                "volume": bar.volume,
                "value": bar.value,
                "change": bar.close - bar.prev_close,
                "venue": "KRX",
                "ex_rights_code": bar.flng_cls_code,
                "split_ratio": bar.prtt_rate,
                "revaluation_reason": bar.revl_issu_reas,
                "is_modified": False,
                "quality_flag": None,
            }
            for symbol, bar in bars
            if bar is not None
        ]
        frames[day.isoformat()] = (
            pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
        )
    # One commit for all the days: a derivation's months of history seed in one write.
    wh.write_partitions("daily_prices", frames)


def seed_trade_volume(wh: Warehouse, market: Market, days: Sequence[dt.date]) -> None:
    """`daily_trade_volume` partitions for `days` from the market's activity (SPEC §9.12: the
    day's volume by the side that took each trade), every name that has one."""
    schema = TABLES["daily_trade_volume"].schema
    frames = {}
    for day in days:
        rows = [
            {
                "date": day,
                "symbol": listing.symbol,
                "buy_volume": activity.buyer_volume,
                "sell_volume": activity.seller_volume,
                "venue": "KRX",
            }
            for listing in market.listings
            if (activity := market.activity(listing.symbol, day)) is not None
        ]
        frames[day.isoformat()] = pl.DataFrame(rows, schema=schema)
    wh.write_partitions("daily_trade_volume", frames)


def use_simulator(monkeypatch: Any, server: Any, tmp_path: Path, **extra: str) -> Warehouse:
    """Point the product's environment at `server` with a fresh app key, state dir and
    warehouse under `tmp_path`; returns that warehouse."""
    from tests.helpers.simulator import sim_environ

    environ = sim_environ(server, tmp_path / "state", KIS_WAREHOUSE=str(tmp_path / "wh"), **extra)
    for name in ("KIS_SYMBOLS", "KIS_MASTER_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return Warehouse(tmp_path / "wh")


def seeded_fast(
    monkeypatch: Any,
    server: Any,
    market: Market,
    tmp_path: Path,
    *,
    now: dt.datetime | None = None,
    unset: Sequence[str] = (),
    **extra: str,
) -> Warehouse:
    """`use_simulator` on a `fast_config` simulator, paced just under its limit, with the
    market's calendar and universe in the warehouse; the pipeline's clock at `now` (when
    given) and the variables of `unset` removed from the environment first."""
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    if now is not None:
        monkeypatch.setenv("KIS_NOW", now.isoformat())
    wh = use_simulator(monkeypatch, server, tmp_path, **extra)
    monkeypatch.setenv("KIS_RATE_LIMIT", str(FAST_RATE * 0.9))
    seed(wh, market)
    return wh


def warehouse_at(now: dt.datetime, *, unset: Sequence[str] = ()) -> Any:
    """`seeded_fast` with the clock at `now` and `unset` removed, as a module's helper:
    `_warehouse(server, market, tmp_path, monkeypatch, **env)`."""

    def make(
        server: Any, market: Market, tmp_path: Path, monkeypatch: Any, **extra: str
    ) -> Warehouse:
        return seeded_fast(monkeypatch, server, market, tmp_path, now=now, unset=unset, **extra)

    return make


def run_assets(
    assets: Sequence[Any],
    *,
    partition_key: str | None = None,
    partition_range: tuple[str, str] | None = None,
    tags: dict[str, str] | None = None,
    raise_on_error: bool = True,
    run_config: dict[str, Any] | None = None,
) -> Any:
    """`dg.materialize` with the product's resources, for one partition or a range."""
    import dagster as dg
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    from kis_pipeline.defs.resources import RESOURCES

    run_tags = dict(tags or {})
    if partition_range is not None:
        run_tags[ASSET_PARTITION_RANGE_START_TAG] = partition_range[0]
        run_tags[ASSET_PARTITION_RANGE_END_TAG] = partition_range[1]
    return dg.materialize(
        list(assets),
        resources=RESOURCES,
        partition_key=partition_key,
        tags=run_tags,
        raise_on_error=raise_on_error,
        run_config=run_config,
    )


def run_prices(*spans: tuple[dt.date, dt.date]) -> None:
    """`daily_prices` and `daily_prices_adjusted` over each (first, last) span; every run
    succeeds."""
    from kis_pipeline.defs.prices import daily_prices, daily_prices_adjusted

    for first, last in spans:
        result = run_assets(
            [daily_prices, daily_prices_adjusted],
            partition_range=(first.isoformat(), last.isoformat()),
        )
        assert result.success


def materialization_metadata(result: Any, asset: str) -> dict[str, Any]:
    """The plain values of the first materialization's metadata of `asset` in `result`."""
    events = result.asset_materializations_for_node(asset)
    assert events, f"{asset} was not materialized"
    return {name: getattr(value, "value", value) for name, value in events[0].metadata.items()}


def check_evaluations(result: Any) -> dict[str, Any]:
    """Check name -> its evaluation (passed, metadata) for every check the run evaluated."""
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def checks_passed(result: Any) -> dict[str, bool]:
    """Check name -> whether it passed, for every check the run evaluated."""
    return {name: e.passed for name, e in check_evaluations(result).items()}


def tr_calls(metadata: dict[str, Any], tr_id: str) -> int:
    return int(metadata.get("calls_by_tr_id", {}).get(tr_id, 0))


# Tests of the price assets run against simulators of their own that allow many requests a
# second, so the suite waits on the model rather than on the product's 17/s pacing. Universe
# position 47 splits 5-for-1 on 2023-09-11, inside this history.
FAST_RATE = 2000.0
SPLIT_SYMBOL_INDEX = 47
SPLIT_DAY = dt.date(2023, 9, 11)


def fast_config(base: SimConfig, **changes: object) -> SimConfig:
    """`base` with a universe that includes a split and a limit tests do not wait on."""
    values: dict[str, object] = {"universe": 48, "rate_limit": FAST_RATE}
    values.update(changes)
    return dataclasses.replace(base, **values)  # type: ignore[arg-type]


def fast_environ(env: dict[str, str]) -> dict[str, str]:
    """Client settings paced just under `FAST_RATE`."""
    return {**env, "KIS_RATE_LIMIT": str(FAST_RATE * 0.9)}


def point_at(
    server: SimulatorServer, warehouse: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Point the product's environment at `server` (paced by `fast_environ`), `warehouse` and
    `state_dir`, with no symbols, Dagster home or master URL left from outside; the values."""
    values = fast_environ(sim_environ(server, state_dir, KIS_WAREHOUSE=str(warehouse)))
    for name in ("KIS_SYMBOLS", "DAGSTER_HOME", "KIS_MASTER_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def served(server: SimulatorServer, app_key: str) -> int:
    """REST requests the simulator answered for one app key (token issuance excluded)."""
    return int(server.stats()["rest"].get(app_key, {}).get("served", 0))
