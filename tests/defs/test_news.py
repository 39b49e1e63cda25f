"""`news_titles` against the simulator's headlines: a first run keeps the day's so far, each
once; a rerun asks only for what is newer (one call) and changes nothing; a run after an earlier
one adds what came since."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.common.clock import KST_NAME
from kis_pipeline.defs.news.titles import news_titles
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_news import headlines
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import TABLES
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG, SIM_NOW, own_simulator

server, market = own_simulator(seed.fast_config(SIM_CONFIG, universe=12))
_warehouse = seed.warehouse_at(SIM_NOW)
DAY = SIM_NOW.date()
TR_ID = "FHKST01011800"


def _truth(market: Market) -> pl.DataFrame:
    until = SIM_NOW.hour * 3600
    found = [
        h for h in headlines(market.config.seed, DAY, list(market.listings)) if h.second <= until
    ]
    midnight = dt.datetime.combine(DAY, dt.time())
    frame = pl.DataFrame(
        {
            "news_id": [h.serial for h in found],
            "ts": [midnight + dt.timedelta(seconds=h.second) for h in found],
            "title": [h.title for h in found],
            "category": [h.category for h in found],
            "symbol_1": [h.symbols[0] if h.symbols else None for h in found],
        }
    )
    return frame.with_columns(pl.col("ts").dt.replace_time_zone(KST_NAME)).sort("ts", "news_id")


def test_the_days_headlines_are_kept_once_and_a_rerun_asks_only_for_newer(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch)
    result = seed.run_assets([news_titles])
    checks = seed.check_evaluations(result)
    assert checks and all(c.passed for c in checks.values())
    truth = _truth(market)
    assert truth.height > 40, "the day should need more than one call"
    stored = wh.read("news_titles").sort("ts", "news_id")
    assert stored.select(truth.columns).equals(truth)
    assert wh.partitions("news_titles") == [DAY.isoformat()]
    first_calls = seed.tr_calls(seed.materialization_metadata(result, "news_titles"), TR_ID)
    assert first_calls == -(-truth.height // 40)

    again = seed.run_assets([news_titles])
    assert seed.tr_calls(seed.materialization_metadata(again, "news_titles"), TR_ID) == 1
    assert wh.read("news_titles").sort("ts", "news_id").equals(stored)


def test_a_later_run_adds_what_came_since(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = _warehouse(server, market, tmp_path, monkeypatch)
    truth = _truth(market)
    noon = dt.datetime.combine(DAY, dt.time(12), tzinfo=SIM_NOW.tzinfo)
    morning = truth.filter(pl.col("ts") < noon)
    # What a run at noon stored.
    earlier = pl.DataFrame(
        {
            name: morning[name] if name in morning.columns else None
            for name in TABLES["news_titles"].schema.names()
        }
    ).with_columns(pl.lit(DAY).alias("date"))
    wh.write_partition(
        "news_titles", DAY.isoformat(), earlier.cast(dict(TABLES["news_titles"].schema))
    )  # type: ignore[arg-type]
    result = seed.run_assets([news_titles])
    stored = wh.read("news_titles").sort("ts", "news_id")
    assert stored["news_id"].to_list() == truth["news_id"].to_list()
    afternoon = truth.height - morning.height
    calls = seed.tr_calls(seed.materialization_metadata(result, "news_titles"), TR_ID)
    assert calls <= -(-afternoon // 40) + 1
