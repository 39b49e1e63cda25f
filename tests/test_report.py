"""`kis-pipeline report`: the data-quality page says what the warehouse holds, and a real
headless browser renders it.

The warehouse is small and built by hand so that every section has something to find: a
session missing from `investor_flows`, a symbol-day whose ticks hold the whole day's volume and
one that holds a part, a gap in the stream, a failed check, and a day the first trade came at
10:00 (the college entrance exam's late open).
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from kis_pipeline.cli.main import main
from kis_pipeline.common.clock import KST
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market import Market
from kis_pipeline.warehouse import Warehouse
from tests.defs.seed import seed_calendar, seed_symbols
from tests.helpers.research_data import frame_like

MARKET = Market(SimConfig(universe=6, start=dt.date(2026, 10, 1)))
SYMBOLS = [listing.symbol for listing in MARKET.listings[:3]]
DAYS = MARKET.trading_days(dt.date(2026, 11, 2), dt.date(2026, 11, 13))
SKIPPED = DAYS[4]  # investor_flows holds no row that session
EXAM = DAYS[8]  # the first trade came at 10:00
SPAN = ["--from", str(DAYS[0]), "--to", str(DAYS[-1])]


def ticks(day: dt.date, symbol: str, first: dt.datetime, volumes: list[int]) -> pl.DataFrame:
    times = [first + dt.timedelta(seconds=30 * i) for i in range(len(volumes))]
    return frame_like(
        "trade_ticks",
        {
            "date": [day] * len(volumes),
            "ts": times,
            "received_at": times,
            "symbol": [symbol] * len(volumes),
            "price": [1000] * len(volumes),
            "volume": volumes,
            "source": ["websocket"] * len(volumes),
            "tr_id": ["H0STCNT0"] * len(volumes),
            "segment_id": [f"seg-{day}"] * len(volumes),
            "seq": list(range(len(volumes))),
            "record": [0] * len(volumes),
        },
    )


@pytest.fixture
def report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    wh = Warehouse(tmp_path / "wh")
    seed_calendar(wh, MARKET, years=[2026])
    seed_symbols(wh, MARKET, DAYS[0])
    for day in DAYS:
        rows = {"date": [day] * 3, "symbol": SYMBOLS, "volume": [600, 700, 800], "close": [1] * 3}
        wh.write_partition("daily_prices", str(day), frame_like("daily_prices", rows))
        if day != SKIPPED:
            flows = {"date": [day] * 3, "symbol": SYMBOLS}
            wh.write_partition("investor_flows", str(day), frame_like("investor_flows", flows))
    nine = dt.datetime.combine(DAYS[1], dt.time(9, 0), KST)
    # The whole day's 600 shares of the first symbol; 100 of the second's 700.
    wh.write_partition("trade_ticks", str(DAYS[1]), ticks(DAYS[1], SYMBOLS[0], nine, [200] * 3))
    wh.write_partition(
        "trade_ticks", str(DAYS[1]), ticks(DAYS[1], SYMBOLS[1], nine, [50, 50]), part="b"
    )
    ten = dt.datetime.combine(EXAM, dt.time(10, 0), KST)
    wh.write_partition("trade_ticks", str(EXAM), ticks(EXAM, SYMBOLS[0], ten, [300, 300]))
    gap_start = dt.datetime.combine(DAYS[1], dt.time(10, 0), KST)
    wh.write_partition(
        "stream_sessions",
        str(DAYS[1]),
        frame_like(
            "stream_sessions",
            {"date": [DAYS[1]] * 2, "session_id": ["s1", "s2"], "started_at": [nine, gap_start]},
        ),
    )
    wh.write_partition(
        "stream_gaps",
        str(DAYS[1]),
        frame_like(
            "stream_gaps",
            {
                "date": [DAYS[1]],
                "gap_id": ["g1"],
                "started_at": [gap_start],
                "ended_at": [gap_start + dt.timedelta(seconds=95)],
                "reason": ["killed"],
            },
        ),
    )
    home = tmp_path / "dagster"
    monkeypatch.setenv("KIS_WAREHOUSE", str(tmp_path / "wh"))
    monkeypatch.setenv("KIS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.get() as instance:
        for passed in (True, False):
            instance.report_runless_asset_event(
                dg.AssetCheckEvaluation(
                    asset_key=dg.AssetKey("investor_flows"),
                    check_name="investor_flows_complete",
                    passed=passed,
                )
            )
    out = tmp_path / "report.html"
    assert main(["report", "--out", str(out), *SPAN]) == 0
    return out.read_text()


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_each_section_finds_what_the_warehouse_holds(report: str) -> None:
    text = text_of(report)
    # Completeness: every session of daily_prices, one missing from investor_flows.
    assert f"{len(DAYS)} open sessions in {DAYS[0]}..{DAYS[-1]}" in text
    assert re.search(rf"daily_prices {len(DAYS)} {len(DAYS)} 3 6 ", text)
    assert re.search(rf"investor_flows {len(DAYS)} {len(DAYS) - 1} 3 6 {SKIPPED}", text)
    # Ticks: one symbol-day whole, one with a seventh of its volume.
    assert "3 symbol-days with ticks: 2 hold the day's whole volume" in text
    assert re.search(rf"{DAYS[1]} {SYMBOLS[1]} 100 700 14.3", text)
    # The gap of 95 s, the failed check, the late open.
    assert "2 collector sessions, 1 gap between them, 95 s without a stream" in text
    assert "2 evaluations of 1 check; 1 failed" in text
    assert re.search(rf"{EXAM} {EXAM} 10:00:00 2 60", text)
    assert "No nightly run took prices from the multi-quote" in text
    assert report.count("<svg") == 5  # every section with data has its chart


def test_a_range_the_wrong_way_round_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--from", "2026-11-13", "--to", "2026-11-02"]) == 2
    assert capsys.readouterr().err.strip() == "error: --from 2026-11-13 is after --to 2026-11-02"


def test_a_headless_browser_renders_the_page(report: str, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium on PATH (bash .ci/run installs Debian's)")
    page = tmp_path / "page.html"
    page.write_text(report)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,4000"]
    env = {**os.environ, "HOME": str(tmp_path)}  # chromium keeps a profile under HOME
    shot = tmp_path / "page.png"
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", page.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
        env=env,
    )
    # A PNG of the page, not an error page: more than a blank screen's worth of bytes.
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", page.as_uri()],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    ).stdout
    rendered = text_of(re.sub(r"<svg.*?</svg>", "", dom, flags=re.S))
    for title in ("Completeness against the calendar", "Days the market opened late"):
        assert title in rendered
    assert dom.count("<svg") == 5


def test_without_a_warehouse_it_says_so_in_one_line_and_makes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KIS_WAREHOUSE", str(tmp_path / "wh"))
    monkeypatch.setenv("KIS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["report", "--out", str(tmp_path / "r.html")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: no warehouse at {tmp_path / 'wh'}") and "\n" not in err
    assert not (tmp_path / "wh").exists() and not (tmp_path / "r.html").exists()


def test_completeness_counts_a_name_delisted_since_on_the_days_it_was_listed(
    tmp_path: Path,
) -> None:
    """The universe of a past day holds the names `listings` knows were listed then: the daily
    prices that include one are complete, a family without it is short by one (and a name both
    in the snapshot and in listings is counted once)."""
    from kis_pipeline.report.sections import completeness
    from kis_pipeline.warehouse import connect

    wh = Warehouse(tmp_path / "wh")
    seed_calendar(wh, MARKET, years=[2026])
    listed = seed_symbols(wh, MARKET, DAYS[0])
    gone, last = "037565", DAYS[5]
    as_of = DAYS[-1]
    wh.write_partition(
        "listings",
        str(as_of),
        frame_like(
            "listings",
            {
                "as_of": [as_of] * 2,
                "symbol": [gone, listed[0]],
                "listed_on": [dt.date(2016, 5, 10), dt.date(2000, 1, 4)],
                # The second leaves after the snapshot that holds it: not counted twice.
                "delisted_on": [DAYS[6], DAYS[9]],
            },
        ),
    )
    for day in DAYS:
        symbols = [*listed, gone] if day <= last else listed
        rows = {"date": [day] * len(symbols), "symbol": symbols}
        wh.write_partition("daily_prices", str(day), frame_like("daily_prices", rows))
        flows = {"date": [day] * len(listed), "symbol": listed}
        wh.write_partition("investor_flows", str(day), frame_like("investor_flows", flows))
    with connect(wh) as con:
        section = completeness(con, DAYS[0], DAYS[-1])
    assert section.chart is not None
    chart = {row["date"]: row for row in section.chart.iter_rows(named=True)}
    assert all(chart[day]["daily_prices"] == 100.0 for day in DAYS)
    size = len(listed)
    for day in DAYS:
        expected = 100.0 if day > last else round(100 * size / (size + 1), 1)
        assert chart[day]["investor_flows"] == expected, day
