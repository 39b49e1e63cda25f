"""Range sweeps: every batch asset over ranges that cross the dates where calendars break.

Each range is drawn from a fixed seed around an edge (a year end, Lunar New Year, Chuseok,
the start of the data, the newest session), with a weekend at one end for some, and is
backfilled on a fresh warehouse as a new user would: the command adds the calendar and the
universe it needs by itself. Every asset's partitions must then be complete against the
calendar, with no failed run and no failed check.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from kis_pipeline.cli import dagster_runner as runner
from kis_pipeline.cli.backfill import run_backfill
from kis_pipeline.cli.backfill_plan import DATA_START, BackfillRequest
from kis_pipeline.simulator.market_indices import sub_indices
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs.seed import fast_environ
from tests.helpers.simulator import sim_environ
from tests.helpers.wall_clock_sim import CONFIG, MARKET, ready_day

warnings.filterwarnings("ignore", category=dg.BetaWarning)

SYMBOLS = (MARKET.listings[0].symbol, MARKET.listings[17].symbol)
# Per-symbol tables: one row per symbol and session.
PER_SYMBOL = ("daily_prices", "daily_prices_adjusted", "investor_flows")


# Edges: the day a range must contain, and the longest reach either side of it.
EDGES: dict[str, dt.date] = {
    "year-end-2023": dt.date(2023, 12, 28),
    "year-end-2024": dt.date(2024, 12, 30),
    "year-end-2025": dt.date(2025, 12, 30),
    "lunar-new-year-2024": dt.date(2024, 2, 9),
    "lunar-new-year-2025": dt.date(2025, 1, 29),
    "chuseok-2024": dt.date(2024, 9, 17),
    "chuseok-2025": dt.date(2025, 10, 6),
    "data-start": DATA_START,
}


@dataclass(frozen=True)
class Case:
    name: str
    start: dt.date
    end: dt.date

    def __str__(self) -> str:
        return f"{self.name}:{self.start}..{self.end}"


def to_weekend(day: dt.date, step: int) -> dt.date:
    while day.weekday() < 5:
        day += dt.timedelta(days=step)
    return day


def draw(name: str, anchor: dt.date, seed: int, *, limit: dt.date) -> Case:
    rng = random.Random(f"{name}/{seed}")
    start = max(DATA_START, anchor - dt.timedelta(days=rng.randint(0, 12)))
    end = min(limit, anchor + dt.timedelta(days=rng.randint(1, 12)))
    weekend = rng.choice(("start", "end", "none"))
    if weekend == "start" and to_weekend(start, -1) >= DATA_START:
        start = to_weekend(start, -1)
    elif weekend == "end" and to_weekend(end, 1) <= limit:
        end = to_weekend(end, 1)
    return Case(name, start, end)


def cases() -> list[Case]:
    limit = ready_day()
    drawn = [draw(name, anchor, 1, limit=limit) for name, anchor in EDGES.items()]
    newest = draw("newest-session", limit, 1, limit=limit)
    return [
        *drawn,
        Case("newest-session", newest.start - dt.timedelta(days=9), limit),
        # A weekend at both ends of a range that crosses a year end.
        Case("weekends-both-ends", dt.date(2022, 12, 17), dt.date(2023, 1, 8)),
        # Longer: a year end and a Lunar New Year in ten weeks.
        Case("long", dt.date(2024, 12, 2), dt.date(2025, 2, 7)),
    ]


# The multi-year ranges run with the slow tests: two year ends, two Lunar New Years and two
# Chuseoks in one range.
SLOW_CASES = [Case("years", dt.date(2023, 11, 20), dt.date(2025, 10, 10))]
# Edges another default case already crosses run with the slow tests too, to keep the default
# suite short: `long` crosses the 2024 year end and Lunar New Year 2025, `weekends-both-ends` a
# year end, `chuseok-2025` a Chuseok.
REPEATED_EDGES = ("year-end-2023", "year-end-2024", "lunar-new-year-2025", "chuseok-2024")


def default_and_slow() -> list[object]:
    drawn = cases()
    slow = [c for c in drawn if c.name in REPEATED_EDGES] + SLOW_CASES
    return [
        *(c for c in drawn if c.name not in REPEATED_EDGES),
        *(pytest.param(c, marks=pytest.mark.slow) for c in slow),
    ]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(CONFIG) as server:
        yield server


@pytest.mark.parametrize(
    "case",
    default_and_slow(),
    ids=str,
)
def test_every_asset_is_complete_over_the_range(
    case: Case, sim: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = fast_environ(sim_environ(sim, tmp_path / "state", KIS_WAREHOUSE=str(tmp_path / "wh")))
    for name in ("KIS_SYMBOLS", "KIS_MASTER_URL", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)

    log, out = io.StringIO(), io.StringIO()
    summary = run_backfill(
        BackfillRequest(case.start, case.end, symbols=SYMBOLS), stream=log, out=out
    )
    report = out.getvalue()
    assert summary.ok, report
    failed_checks = sorted({c for run in summary.runs for c in run.checks_failed})
    assert failed_checks == [], report

    from kis_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    with runner.open_instance(tmp_path / "wh" / ".dagster") as instance:
        for run in summary.runs:
            for key in run.run.assets:
                if graph.get(key).partitions_def is None:
                    continue  # `listings`, built once as of today
                wanted = runner.partition_keys_in_range(
                    graph.get(key).partitions_def, case.start, case.end
                )
                done = instance.get_materialized_partitions(key)
                missing = [k for k in wanted if k not in done]
                assert missing == [], (key.to_user_string(), missing)

    wh = Warehouse(tmp_path / "wh")
    calendar = wh.read("trading_calendar").filter(pl.col("date").is_between(case.start, case.end))
    assert calendar.height == (case.end - case.start).days + 1
    sessions = calendar.filter(pl.col("is_trading_day"))["date"].sort().to_list()
    assert sessions == MARKET.trading_days(case.start, case.end)
    for table in PER_SYMBOL:
        rows = wh.read(table).filter(pl.col("date").is_between(case.start, case.end))
        have = set(rows.select("date", "symbol").iter_rows())
        expected = {(day, symbol) for day in sessions for symbol in SYMBOLS}
        assert have == expected, (table, sorted(expected - have)[:5], sorted(have - expected)[:5])
    index = wh.read("index_daily").filter(pl.col("date").is_between(case.start, case.end))
    # The three main indices, and beside them every sector sub-index, on every session.
    sectors = index.filter(~pl.col("index_code").is_in(["0001", "1001", "2001"]))
    assert sectors.height == len(sub_indices(MARKET.book.specs)) * len(sessions)
    assert index.height - sectors.height == 3 * len(sessions)
