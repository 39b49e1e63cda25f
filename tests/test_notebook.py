"""The research notebook runs headless, top to bottom, on a warehouse the pipeline's writer made,
and its plots show the data as it is: lines break at gaps, ranks are whole numbers, and tick
times are in Asia/Seoul."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

import kis_pipeline.streaming.tables as tick_tables
from kis_pipeline.common.clock import KST
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market import Market
from kis_pipeline.warehouse import TABLES, Warehouse
from tests.helpers.research_data import seed

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "research.ipynb"
# Cells the test adds around the notebook: keep every figure `plt.show` draws, then describe
# each axes (lines in axis units, tick labels, the time axis's zone) as JSON.
KEEP_FIGURES = """
import matplotlib.pyplot as plt
shown_figures = []
_show = plt.show
def _keep(*args, **kwargs):
    shown_figures.extend(plt.figure(n) for n in plt.get_fignums())
    return _show(*args, **kwargs)
plt.show = _keep
"""
DESCRIBE_FIGURES = """
import json
described = []
for figure in shown_figures:
    figure.draw_without_rendering()
    for axes in figure.axes:
        described.append({
            "title": axes.get_title(),
            "xlabel": axes.get_xlabel(),
            "ylabel": axes.get_ylabel(),
            "x_zone": str(axes.xaxis.get_units()),
            "x_ticks": [t.get_text() for t in axes.get_xticklabels()],
            "y_ticks": [t.get_text() for t in axes.get_yticklabels()],
            # Data lines only: helper lines (axhline) have labels starting with "_".
            "lines": [
                line.get_xydata().tolist()
                for line in axes.get_lines()
                if not line.get_label().startswith("_")
            ],
        })
print("FIGURES " + json.dumps(described))
"""


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The notebook executed on the seeded warehouse, with the figure-describing cells."""
    assert tick_tables.TRADE_TICKS.name in TABLES
    root = tmp_path_factory.mktemp("notebook")
    market = Market(
        SimConfig(
            universe=40, start=dt.date(2018, 1, 2), now=dt.datetime(2026, 11, 23, 18, tzinfo=KST)
        )
    )
    seed(Warehouse(root / "wh"), market)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(KEEP_FIGURES))
    notebook.cells.append(nbformat.v4.new_code_cell(DESCRIBE_FIGURES))
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("KIS_WAREHOUSE", str(root / "wh"))
        NotebookClient(
            notebook,
            timeout=120,
            kernel_name="python3",
            resources={"metadata": {"path": str(root)}},
        ).execute()
    return notebook


def outputs(notebook: Any) -> list[Any]:
    return [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def figures(notebook: Any) -> dict[str, dict[str, Any]]:
    """Each plot's description, by the first word that tells it apart."""
    described = figures_all(notebook)
    names = {
        "raw vs adjusted": "split",
        "program net buying": "program",
        "net buying": "flows",
        "trades": "ticks",
        "minute bars": "minutes",
        "target prices": "targets",
        "credit balance": "credit",
        "short-sale share": "shorts",
        "survivorship": "survivorship",
    }
    found = {}
    for axes in described:
        if not axes["title"] and axes["ylabel"] != "rank by volume":
            continue  # a twin axes: it belongs to the plot drawn before it
        name = next((v for k, v in names.items() if k in axes["title"]), None)
        found[name or ("ranks" if axes["ylabel"] == "rank by volume" else axes["title"])] = axes
    return found


def figures_all(notebook: Any) -> list[dict[str, Any]]:
    """Every axes described, twins included."""
    text = " ".join(o.get("text", "") for o in outputs(notebook))
    return json.loads(text.split("FIGURES ", 1)[1].splitlines()[0])


def widest_step(line: list[list[float]]) -> float:
    """The widest step in x a line draws without a break (a NaN ends a stretch)."""
    widest, previous = 0.0, None
    for x, y in line:
        if math.isnan(x) or math.isnan(y):
            previous = None
            continue
        if previous is not None:
            widest = max(widest, x - previous)
        previous = x
    return widest


def span(line: list[list[float]]) -> float:
    xs = [x for x, y in line if not math.isnan(x) and not math.isnan(y)]
    return max(xs) - min(xs)


@pytest.mark.timeout(240)
def test_research_notebook_executes_and_draws_every_plot(executed: Any) -> None:
    images = [o for o in outputs(executed) if "image/png" in o.get("data", {})]
    assert len(images) == 10
    texts = " ".join(o.get("text", "") for o in outputs(executed))
    assert "is empty" not in texts
    assert set(figures(executed)) == {
        "split",
        "flows",
        "ranks",
        "ticks",
        "program",
        "credit",
        "shorts",
        "survivorship",
        "minutes",
        "targets",
    }


@pytest.mark.timeout(240)
def test_daily_lines_break_where_years_are_missing(executed: Any) -> None:
    """2018 and 2026 are in the warehouse, the years between are not: no line joins them
    (matplotlib dates are in days)."""
    for name in ("split", "flows", "ranks", "program", "credit", "shorts"):
        for line in figures(executed)[name]["lines"]:
            assert span(line) > 3000, name
            assert widest_step(line) <= 10, f"{name} joins days {widest_step(line):.0f} apart"


@pytest.mark.timeout(240)
def test_tick_lines_break_between_sessions_and_show_seoul_time(executed: Any) -> None:
    ticks = figures(executed)["ticks"]
    for line in ticks["lines"]:
        assert span(line) * 24 * 60 > 60  # both sessions are drawn
        assert widest_step(line) * 24 * 60 <= 5, "a line joins the two sessions"
    assert ticks["x_zone"] == "Asia/Seoul" and "Asia/Seoul" in ticks["xlabel"]
    # The sessions ran 09:00-10:18 KST (00:00-01:18 UTC).
    labels = [t for t in ticks["x_ticks"] if t]
    assert labels and all(t[:2] in ("09", "10") for t in labels), labels


@pytest.mark.timeout(240)
def test_the_activity_plots_draw_what_the_simulator_served(executed: Any) -> None:
    """Short-sale shares are percentages of the day's volume, and the credit plot draws the
    margin balance on one axis and the close on its twin."""
    shorts = figures(executed)["shorts"]
    assert len(shorts["lines"]) == 3  # one per symbol kept
    points = [y for line in shorts["lines"] for _, y in line if not math.isnan(y)]
    assert points and all(0 <= y <= 100 for y in points)
    credit = [axes for axes in figures_all(executed) if "credit balance" in axes["title"]]
    assert [axes["ylabel"] for axes in credit] == ["margin balance (thousand shares)"]
    closes = [axes for axes in figures_all(executed) if axes["ylabel"] == "close (KRW)"]
    assert len(closes) == 1 and closes[0]["lines"]


@pytest.mark.timeout(240)
def test_the_survivorship_example_loses_what_the_survivors_hide(executed: Any) -> None:
    """The cohort of the window's first day holds the games maker delisted on 2023-03-31 after
    its slide; buying it too ends below buying the survivors only."""
    plot = figures(executed)["survivorship"]
    assert "1 delisted" in plot["title"], plot["title"]
    survivors, everyone = ([y for _, y in line] for line in plot["lines"])
    assert len(survivors) == len(everyone) > 100
    assert survivors[0] == everyone[0] == 1.0
    assert everyone[-1] < survivors[-1]
    texts = " ".join(o.get("text", "") for o in outputs(executed))
    assert "survivors only: " in texts and "with the delisted: " in texts


@pytest.mark.timeout(240)
def test_the_rank_axis_shows_whole_ranks(executed: Any) -> None:
    labels = [t.replace("\u2212", "-") for t in figures(executed)["ranks"]["y_ticks"] if t]
    assert labels and all(label.lstrip("-").isdigit() for label in labels), labels


@pytest.mark.timeout(240)
def test_notebook_explains_what_is_missing_on_an_empty_warehouse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    for table in ("program_trading", "credit_balance", "short_sales"):
        assert f"run `kis-pipeline backfill --assets {table}` first" in texts


@pytest.mark.timeout(240)
def test_the_minute_bars_span_the_session_in_seoul_time_with_their_vwap(executed: Any) -> None:
    minutes = figures(executed)["minutes"]
    assert "381 minute bars" in minutes["title"], minutes["title"]
    close, vwap = minutes["lines"]
    # 09:00 to the 15:30 closing auction, no bar joined across a gap.
    assert span(close) * 24 * 60 == pytest.approx(390)
    assert minutes["x_zone"] == "Asia/Seoul"
    labels = [t for t in minutes["x_ticks"] if t]
    assert labels and all("09" <= t[:2] <= "15" for t in labels), labels
    # The day's VWAP stays inside the range its closes cover (NaN: the line's breaks, here
    # the closing auction's ten minutes without trades).
    closes = [y for _, y in close if not math.isnan(y)]
    averages = [y for _, y in vwap[30:] if not math.isnan(y)]
    assert averages and all(min(closes) <= y <= max(closes) for y in averages)


@pytest.mark.timeout(240)
def test_the_target_prices_are_drawn_against_the_close(executed: Any) -> None:
    targets = figures(executed)["targets"]
    assert "reports) against the close" in targets["title"]
    reported = int(targets["title"].split("(")[1].split()[0])
    assert reported >= 3
    [close] = targets["lines"]
    assert widest_step(close) <= 10 and span(close) > 3000
