"""The price assets against the simulator: what they write equals the market's truth, reruns
change nothing and cost nothing, calls follow the plan (2 x S x ceil(D / 100)), the nightly
run uses the 30-symbol quote, and a split restates the adjusted history."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import warnings
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from kis_pipeline.common.clock import KST
from kis_pipeline.defs.prices import daily_prices, daily_prices_adjusted, overseas_daily_prices
from kis_pipeline.defs.prices.assets import SOURCE_TAG
from kis_pipeline.defs.resources import RESOURCES
from kis_pipeline.lib.run_context import SYMBOLS_TAG
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs.seed import SPLIT_DAY, fast_config, fast_environ, point_at, seed, served
from tests.helpers.simulator import SIM_CONFIG, sim_environ

warnings.filterwarnings("ignore", category=dg.BetaWarning)

CONFIG = fast_config(SIM_CONFIG)
MARKET = Market(CONFIG)
SPLIT_SYMBOL = MARKET.listings[47].symbol
# Chuseok (2023-09-28/29) and National Foundation Day (10-03) fall in this range, so do the
# split of SPLIT_SYMBOL (09-11); 21 trading days.
RANGE = (dt.date(2023, 9, 4), dt.date(2023, 10, 6))
SYMBOLS = [MARKET.listings[i].symbol for i in (0, 1, 5, 20)] + [SPLIT_SYMBOL]
RANGE_TAGS = {
    "dagster/asset_partition_range_start": RANGE[0].isoformat(),
    "dagster/asset_partition_range_end": RANGE[1].isoformat(),
}
PRICES = ("open", "high", "low", "close")


@pytest.fixture
def env(
    fast_sim: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    values = point_at(fast_sim, tmp_path / "wh", tmp_path / "state", monkeypatch)
    seed(Warehouse(tmp_path / "wh"), MARKET)
    return values


def materialize(
    assets: list[dg.AssetsDefinition], tags: dict[str, str], **kwargs: object
) -> dg.ExecuteInProcessResult:
    return dg.materialize(assets, resources=RESOURCES, tags=tags, **kwargs)  # type: ignore[arg-type]


def truth_raw(days: list[dt.date], symbols: list[str]) -> pl.DataFrame:
    rows = [
        (bar.date, symbol, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.value)
        for symbol in symbols
        for bar in MARKET.daily_bars(symbol, min(days), max(days))
        if bar.date in set(days)
    ]
    schema = ["date", "symbol", "open", "high", "low", "close", "volume", "value"]
    return pl.DataFrame(rows, schema=schema, orient="row").sort("date", "symbol")


def weekdays(start: dt.date, end: dt.date) -> list[dt.date]:
    return [
        start + dt.timedelta(days=i)
        for i in range((end - start).days + 1)
        if (start + dt.timedelta(days=i)).weekday() < 5
    ]


def test_range_backfill_equals_the_market_and_follows_the_call_plan(
    env: dict[str, str], fast_sim: SimulatorServer, tmp_path: Path
) -> None:
    wh = Warehouse(tmp_path / "wh")
    tags = {**RANGE_TAGS, SYMBOLS_TAG: ",".join(SYMBOLS)}
    result = materialize([daily_prices, daily_prices_adjusted], tags)
    assert result.success

    trading = MARKET.trading_days(*RANGE)
    assert len(trading) == 21
    # One partition per weekday; holidays are empty partitions, fetched with no call.
    assert wh.partitions("daily_prices") == [d.isoformat() for d in weekdays(*RANGE)]
    assert wh.read("daily_prices", ["2023-09-28"]).is_empty()

    raw = wh.read("daily_prices").sort("date", "symbol")
    assert raw.select(truth_raw(trading, SYMBOLS).columns).equals(truth_raw(trading, SYMBOLS))
    split_row = raw.filter((pl.col("symbol") == SPLIT_SYMBOL) & (pl.col("date") == SPLIT_DAY))
    assert split_row["ex_rights_code"].to_list() == ["01"]
    assert split_row["split_ratio"][0] == pytest.approx(0.2, abs=1e-3)

    adjusted = wh.read("daily_prices_adjusted").sort("date", "symbol")
    joined = adjusted.join(raw, on=["date", "symbol"], suffix="_raw")
    factors = [
        MARKET.adj_factor(s, d) for d, s in zip(joined["date"], joined["symbol"], strict=True)
    ]
    assert joined["adj_factor"].to_list() == pytest.approx(factors, rel=0.02)
    expected_close = [round(c * f) for c, f in zip(joined["close_raw"], factors, strict=True)]
    assert joined["close"].to_list() == expected_close
    before = joined.filter((pl.col("symbol") == SPLIT_SYMBOL) & (pl.col("date") < SPLIT_DAY))
    assert before["adj_factor"].to_list() == pytest.approx([0.2] * before.height, rel=0.02)

    # 2 kinds x S symbols x ceil(21 / 100) windows, and not one call more.
    planned = 2 * len(SYMBOLS) * math.ceil(len(trading) / 100)
    assert served(fast_sim, env["KIS_APP_KEY"]) == planned
    materialization = result.asset_materializations_for_node("daily_prices")[0]
    assert materialization.metadata["calls_planned"].value == planned // 2
    assert materialization.metadata["data_calls"].value == planned // 2

    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    for name in (
        "daily_prices_ohlc_consistent",
        "daily_prices_unique_keys",
        "daily_prices_complete",
        "daily_prices_adjusted_adj_factor_continuous",
        "daily_prices_adjusted_complete",
    ):
        assert checks[name], name

    # A rerun writes the same rows in the same partitions and reuses every window.
    files = {t: len(wh.partitions(t)) for t in ("daily_prices", "daily_prices_adjusted")}
    again = materialize([daily_prices, daily_prices_adjusted], tags)
    assert again.success
    assert served(fast_sim, env["KIS_APP_KEY"]) == planned
    assert wh.read("daily_prices").sort("date", "symbol").equals(raw)
    assert wh.read("daily_prices_adjusted").sort("date", "symbol").equals(adjusted)
    assert {t: len(wh.partitions(t)) for t in files} == files


def test_nightly_run_uses_the_multi_quote(
    env: dict[str, str], fast_sim: SimulatorServer, tmp_path: Path
) -> None:
    wh = Warehouse(tmp_path / "wh")
    day = MARKET.last_completed_session()
    result = materialize(
        [daily_prices, daily_prices_adjusted],
        {SOURCE_TAG: "multi_quote"},
        partition_key=day.isoformat(),
    )
    assert result.success
    symbols = [x.symbol for x in MARKET.listings]
    raw = wh.read("daily_prices").sort("symbol")
    expected = truth_raw([day], symbols)
    assert raw.select(expected.columns).sort("date", "symbol").equals(expected)
    # The quote carries no event flags: unknown, not "none".
    assert raw["ex_rights_code"].null_count() >= raw.height - math.ceil(len(symbols) / 30)
    # ceil(48 / 30) = 2 quote calls and one cross-check chart call per batch.
    assert served(fast_sim, env["KIS_APP_KEY"]) == 2 * math.ceil(len(symbols) / 30)
    adjusted = wh.read("daily_prices_adjusted")
    assert adjusted["adj_factor"].to_list() == [1.0] * len(symbols)
    meta = result.asset_materializations_for_node("daily_prices")[0].metadata
    assert meta["source"].value == "multi_quote"
    assert len(meta["cross_checked"].value) == 2


def test_a_split_on_the_nightly_session_restates_the_adjusted_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """History fetched before the split is on the old basis; the nightly run of the split day
    sees base price != previous close, confirms it with the chart's flags and rewrites the
    symbol's earlier adjusted partitions."""
    wh = Warehouse(tmp_path / "wh")
    monkeypatch.delenv("KIS_SYMBOLS", raising=False)
    monkeypatch.setenv("KIS_WAREHOUSE", str(tmp_path / "wh"))
    history = (dt.date(2023, 8, 28), dt.date(2023, 9, 8))
    before_split = dataclasses.replace(CONFIG, now=dt.datetime(2023, 9, 8, 18, 0, tzinfo=KST))
    on_split = dataclasses.replace(CONFIG, now=dt.datetime(2023, 9, 11, 18, 0, tzinfo=KST))
    tags = {SYMBOLS_TAG: ",".join(SYMBOLS)}

    with SimulatorServer(before_split) as server:
        for name, value in fast_environ(sim_environ(server, tmp_path / "s1")).items():
            monkeypatch.setenv(name, value)
        seed(wh, Market(on_split))
        result = materialize(
            [daily_prices, daily_prices_adjusted],
            {
                **tags,
                "dagster/asset_partition_range_start": history[0].isoformat(),
                "dagster/asset_partition_range_end": history[1].isoformat(),
            },
        )
        assert result.success
    old = wh.read("daily_prices_adjusted").filter(pl.col("symbol") == SPLIT_SYMBOL)
    assert old["adj_factor"].to_list() == pytest.approx([1.0] * old.height)

    with SimulatorServer(on_split) as server:
        for name, value in fast_environ(sim_environ(server, tmp_path / "s2")).items():
            monkeypatch.setenv(name, value)
        result = materialize(
            [daily_prices, daily_prices_adjusted],
            {**tags, SOURCE_TAG: "multi_quote"},
            partition_key=SPLIT_DAY.isoformat(),
        )
        assert result.success
    meta = result.asset_materializations_for_node("daily_prices")[0].metadata
    assert SPLIT_SYMBOL in meta["corporate_action_suspects"].value
    adjusted_meta = result.asset_materializations_for_node("daily_prices_adjusted")[0].metadata
    assert adjusted_meta["restated_symbols"].value == [SPLIT_SYMBOL]

    market = Market(on_split)
    restated = wh.read("daily_prices_adjusted").filter(pl.col("symbol") == SPLIT_SYMBOL)
    expected = [market.adj_factor(SPLIT_SYMBOL, d) for d in restated["date"]]
    assert restated["adj_factor"].to_list() == pytest.approx(expected, rel=0.02)
    assert restated.filter(pl.col("date") < SPLIT_DAY)["adj_factor"].max() < 0.25
    others = wh.read("daily_prices_adjusted").filter(pl.col("symbol") != SPLIT_SYMBOL)
    assert others["adj_factor"].to_list() == pytest.approx([1.0] * others.height)
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["daily_prices_adjusted_adj_factor_continuous"]


def test_overseas_daily_prices_equal_the_market(
    env: dict[str, str], fast_sim: SimulatorServer, tmp_path: Path
) -> None:
    wh = Warehouse(tmp_path / "wh")
    tickers = ["NAS:AAPL", "NYS:KO", "HKS:00700", "TSE:7203"]
    start, end = dt.date(2026, 6, 1), dt.date(2026, 11, 13)
    result = materialize(
        [overseas_daily_prices],
        {
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
        },
        run_config={"ops": {"overseas_daily_prices": {"config": {"tickers": tickers}}}},
    )
    assert result.success
    days = weekdays(start, end)
    assert wh.partitions("overseas_daily_prices") == [d.isoformat() for d in days]
    frame = wh.read("overseas_daily_prices").sort("exchange", "symbol", "date")
    for ticker in tickers:
        exchange, symbol = ticker.split(":")
        bars = MARKET.overseas_bars(exchange, symbol, start, end)
        got = frame.filter((pl.col("exchange") == exchange) & (pl.col("symbol") == symbol))
        assert got["date"].to_list() == [b.date for b in bars]
        assert got["close"].to_list() == pytest.approx([b.close for b in bars])
        assert got["volume"].to_list() == [b.volume for b in bars]
    # 120 weekdays walk back in ceil(120 / 100) = 2 calls per ticker.
    assert served(fast_sim, env["KIS_APP_KEY"]) == len(tickers) * math.ceil(len(days) / 100)
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["overseas_daily_prices_ohlc_consistent"]
    assert checks["overseas_daily_prices_complete"]


def test_a_failing_symbol_is_named_and_the_others_are_written(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A code KIS does not know fails with its KIS error; every other symbol is stored."""
    wh = Warehouse(tmp_path / "wh")
    snapshot = wh.partitions("symbols")[-1]
    frame = wh.read("symbols", [snapshot])
    ghost = frame.head(1).with_columns(symbol=pl.lit("999990"))
    wh.write_partition("symbols", snapshot, pl.concat([frame, ghost]))
    day = dt.date(2023, 9, 5)
    result = materialize(
        [daily_prices],
        {SYMBOLS_TAG: ",".join([*SYMBOLS[:2], "999990"])},
        partition_key=day.isoformat(),
        raise_on_error=False,
    )
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data
    message = failure.user_failure_data.description
    assert "999990" in message and "KIS " in message
    assert sorted(wh.read("daily_prices")["symbol"].to_list()) == sorted(SYMBOLS[:2])

    # Once the universe is right again, a rerun repairs the partition in place.
    wh.write_partition("symbols", snapshot, frame)
    again = materialize(
        [daily_prices], {SYMBOLS_TAG: ",".join(SYMBOLS[:2])}, partition_key=day.isoformat()
    )
    assert again.success
    assert (
        wh.read("daily_prices")
        .sort("symbol")
        .select(truth_raw([day], SYMBOLS[:2]).columns)
        .equals(truth_raw([day], SYMBOLS[:2]))
    )
    assert len(wh.partitions("daily_prices")) == 1
