"""The research notebook runs headless, top to bottom, on a warehouse the pipeline's writer made."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import nbformat
import polars as pl
import pytest
from nbclient import NotebookClient

import kis_pipeline.streaming.tables as tick_tables
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market import Market
from kis_pipeline.warehouse import TABLES, Warehouse

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "research.ipynb"
START, END = dt.date(2018, 4, 2), dt.date(2018, 6, 29)


def frame_like(table: str, columns: dict[str, list[object]]) -> pl.DataFrame:
    """A frame of `table`'s exact schema: the given columns, nulls elsewhere."""
    schema = TABLES[table].schema
    height = len(next(iter(columns.values())))
    data = {
        name: pl.Series(name, columns.get(name, [None] * height)).cast(dtype)
        for name, dtype in schema.items()
    }
    return pl.DataFrame(data)


def seed(warehouse: Warehouse, market: Market) -> None:
    symbols = ["005930", "000660", "035420"]
    for day in market.trading_days(START, END):
        bars = [market.bar(s, day) for s in symbols]
        rows = {
            "date": [day] * 3,
            "symbol": symbols,
            "open": [b.open for b in bars],
            "high": [b.high for b in bars],
            "low": [b.low for b in bars],
            "close": [b.close for b in bars],
            "volume": [b.volume for b in bars],
            "value": [b.value for b in bars],
        }
        key = day.isoformat()
        warehouse.write_partition(
            "daily_prices", key, frame_like("daily_prices", rows), refresh=False
        )
        factors = [market.adj_factor(s, day) for s in symbols]
        adjusted = {
            **rows,
            "close": [round(b.close * f) for b, f in zip(bars, factors, strict=True)],
            "adj_factor": factors,
        }
        warehouse.write_partition(
            "daily_prices_adjusted",
            key,
            frame_like("daily_prices_adjusted", adjusted),
            refresh=False,
        )
        flows = [market.investor_flow(s, day) for s in symbols]
        warehouse.write_partition(
            "investor_flows",
            key,
            frame_like(
                "investor_flows",
                {
                    "date": [day] * 3,
                    "symbol": symbols,
                    "individual_net_value": [f.individual_net_value for f in flows],
                    "foreign_net_value": [f.foreign_net_value for f in flows],
                    "institution_net_value": [f.institution_net_value for f in flows],
                },
            ),
            refresh=False,
        )
        kinds = ("volume", "rise")
        ranked = {kind: market.ranking(day, kind)[:30] for kind in kinds}
        warehouse.write_partition(
            "rankings",
            key,
            frame_like(
                "rankings",
                {
                    "date": [day] * sum(len(r) for r in ranked.values()),
                    "ranking": [kind for kind in kinds for _ in ranked[kind]],
                    "rank": [i for kind in kinds for i in range(1, len(ranked[kind]) + 1)],
                    "symbol": [s for kind in kinds for s in ranked[kind]],
                    "source": ["derived"] * sum(len(r) for r in ranked.values()),
                },
            ),
            refresh=False,
        )
    kst = dt.timezone(dt.timedelta(hours=9))
    times = [
        dt.datetime(2018, 6, 29, 9, 0, tzinfo=kst) + dt.timedelta(seconds=7 * i) for i in range(300)
    ]
    warehouse.write_partition(
        "trade_ticks",
        "2018-06-29",
        frame_like(
            "trade_ticks",
            {
                "date": [END] * 300,
                "ts": times,
                "received_at": times,
                "symbol": ["005930"] * 300,
                "price": [46000 + (i % 17) * 50 for i in range(300)],
                "volume": [10 + i % 7 for i in range(300)],
                "tr_id": ["H0STCNT0"] * 300,
                "segment_id": ["seg-1"] * 300,
                "seq": list(range(300)),
                "record": [0] * 300,
            },
        ),
        part="seg-1",
        refresh=False,
    )
    warehouse.refresh_catalog()


@pytest.mark.timeout(240)
def test_research_notebook_executes_and_draws_every_plot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tick_tables.TRADE_TICKS.name in TABLES
    market = Market(
        SimConfig(
            universe=40,
            start=dt.date(2018, 1, 2),
            now=dt.datetime(2018, 7, 2, 18, tzinfo=dt.timezone(dt.timedelta(hours=9))),
        )
    )
    seed(Warehouse(tmp_path / "wh"), market)
    monkeypatch.setenv("KIS_WAREHOUSE", str(tmp_path / "wh"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    outputs = [
        o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
    ]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 4
    texts = " ".join(o.get("text", "") for o in outputs)
    assert "is empty" not in texts


@pytest.mark.timeout(240)
def test_notebook_explains_what_is_missing_on_an_empty_warehouse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Warehouse(tmp_path / "wh").refresh_catalog()
    monkeypatch.setenv("KIS_WAREHOUSE", str(tmp_path / "wh"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    texts = " ".join(
        o.get("text", "")
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    )
    assert "run `kis-pipeline backfill` first" in texts
    assert "run `kis-pipeline stream --duration 30 --persist` first" in texts
