"""Every schedule, tick by tick, over the turn of the year 2025/2026.

The days: Monday 2025-12-29 (a trading day), Tuesday 12-30 (the last session of 2025),
Wednesday 12-31 (KRX's year-end closing day) and Thursday 2026-01-01 (New Year's Day), both
weekday holidays, Friday 01-02 (the first session of 2026) and Saturday 01-03. Each tick is
evaluated through Dagster's schedule evaluation at its scheduled time, and every run it
requests is executed in process against a simulator whose clock, like the pipeline's
(`KIS_NOW`), is that time. The warehouse starts as the nightly runs leave it: the
weeks before are materialized by the pipeline itself on the Sunday evening before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import pytest
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from dagster._utils.schedules import schedule_execution_time_iterator

from kis_pipeline.common.clock import KST, NOW
from kis_pipeline.defs.calendar import index_daily, overseas_calendar, trading_calendar
from kis_pipeline.defs.flows import investor_flows, market_investor_flows
from kis_pipeline.defs.market_activity.assets import BUILT
from kis_pipeline.defs.prices.assets import daily_prices, daily_prices_adjusted
from kis_pipeline.defs.prices.overseas import overseas_daily_prices
from kis_pipeline.defs.rankings.assets import rankings
from kis_pipeline.defs.resources import RESOURCES
from kis_pipeline.kis.endpoints.trends import ALL_TRENDS
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_indices import sub_indices
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs.seed import fast_config, fast_environ, run_assets, seed_symbols
from tests.helpers.simulator import SIM_CONFIG, sim_environ

warnings.filterwarnings("ignore", category=dg.BetaWarning)
# The module's replay (every run of six days) is set up once, about 2 minutes on a quiet
# machine: more than the default timeout leaves on a loaded one.
pytestmark = pytest.mark.timeout(900)

CONFIG = fast_config(SIM_CONFIG, start=dt.date(2025, 9, 1))
MARKET = Market(CONFIG)
SYMBOLS = [listing.symbol for listing in MARKET.listings[:3]]
SECTORS = sub_indices(MARKET.book.specs)
FIRST, LAST = dt.date(2025, 12, 29), dt.date(2026, 1, 3)
DAYS = [FIRST + dt.timedelta(days=n) for n in range((LAST - FIRST).days + 1)]
SESSIONS = [dt.date(2025, 12, 29), dt.date(2025, 12, 30), dt.date(2026, 1, 2)]
HOLIDAYS = [dt.date(2025, 12, 31), dt.date(2026, 1, 1)]
# The runs that fetch the day's own partition; on a closed day they must not call KIS.
DAY_PARTITION_SCHEDULES = (
    "symbols_schedule",
    "index_daily_schedule",
    "sector_index_daily_schedule",
    "daily_prices_schedule",
    "flows_schedule",
    "rankings_schedule",
    "ranking_history_schedule",
    *(f"{table}_schedule" for table in ALL_TRENDS),
    "futures_options_daily_schedule",
    "bond_prices_schedule",
    "minute_bars_schedule",
    "index_minute_bars_schedule",
    "market_daily_schedule",
)
FRESHNESS_SCHEDULES = tuple(
    f"{domain}_freshness_schedule"
    for domain in ("calendar", "prices", "flows", "rankings", "universe", "market_activity")
)


def weekday(
    day: str, *, flows: str, calendar_years: list[str], overseas: str | None
) -> dict[str, list[str]]:
    """What the schedules of a weekday request: partition keys, a `start..end` range, or ""
    for an unpartitioned run."""
    requests = {
        "warehouse_maintenance_schedule": [""],
        "run_retention_schedule": [""],
        "symbols_schedule": [day],
        "listings_schedule": [""],
        "condition_results_schedule": [""],
        "stock_status_schedule": [""],
        # Hourly from 08:05 to 18:05.
        "news_titles_schedule": [""] * 11,
        "corporate_actions_schedule": [""],
        "index_daily_schedule": [day],
        "sector_index_daily_schedule": [day],
        "daily_prices_schedule": [day],
        "flows_schedule": [flows],
        "rankings_schedule": [day],
        "ranking_lists_schedule": [""],
        "ranking_history_schedule": [day],
        **{f"{table}_schedule": [day] for table in ALL_TRENDS},
        "futures_options_daily_schedule": [day],
        "bond_prices_schedule": [day],
        "minute_bars_schedule": [day],
        "index_minute_bars_schedule": [day],
        "market_daily_schedule": [day],
        "analyst_opinions_schedule": [""],
        "trading_calendar_schedule": calendar_years,
        **{name: [""] for name in FRESHNESS_SCHEDULES},
    }
    if overseas is not None:
        requests["overseas_daily_prices_schedule"] = [overseas]
    return requests


EXPECTED: dict[dt.date, dict[str, list[str]]] = {
    # Monday 07:00 KST is Sunday in New York's UTC schedule: no overseas tick. Flows rewrite
    # Friday's provisional figures with Monday's.
    dt.date(2025, 12, 29): weekday(
        "2025-12-29",
        flows="2025-12-26..2025-12-29",
        calendar_years=["2025", "2026"],
        overseas=None,
    ),
    dt.date(2025, 12, 30): weekday(
        "2025-12-30",
        flows="2025-12-29..2025-12-30",
        calendar_years=["2025", "2026"],
        overseas="2025-12-29",
    ),
    # The closing day: its own (empty) partitions; the calendar still extends into 2026.
    dt.date(2025, 12, 31): weekday(
        "2025-12-31",
        flows="2025-12-31..2025-12-31",
        calendar_years=["2025", "2026"],
        overseas="2025-12-30",
    ),
    dt.date(2026, 1, 1): weekday(
        "2026-01-01",
        flows="2026-01-01..2026-01-01",
        calendar_years=["2026"],
        overseas="2025-12-31",
    ),
    # The first session settles the last one of the year before, across both closed days.
    dt.date(2026, 1, 2): weekday(
        "2026-01-02",
        flows="2025-12-30..2026-01-02",
        calendar_years=["2026"],
        overseas="2026-01-01",
    ),
    # Saturday: New York's Friday, the weekly refreshes (last year's dividends through April),
    # the calendar, and maintenance; nothing that fetches a KRX day.
    dt.date(2026, 1, 3): {
        "warehouse_maintenance_schedule": [""],
        "run_retention_schedule": [""],
        "overseas_daily_prices_schedule": ["2026-01-02"],
        "stock_info_schedule": [""],
        "fundamentals_schedule": [""],
        "analyst_estimates_schedule": [""],
        "dividends_schedule": ["2025", "2026"],
        "listing_events_schedule": ["2025", "2026"],
        "bonus_issues_schedule": ["2025", "2026"],
        "capital_reductions_schedule": ["2025", "2026"],
        "rights_issues_schedule": ["2025", "2026"],
        "mergers_schedule": ["2025", "2026"],
        "bond_info_schedule": [""],
        "fundamentals_freshness_schedule": [""],
        "company_freshness_schedule": [""],
        "trading_calendar_schedule": ["2026"],
        "overseas_calendar_schedule": ["2026"],
    },
}


# The overseas minute bars run Tuesday to Saturday, after New York's close of the day before.
for _day, _requests in EXPECTED.items():
    if 1 <= _day.weekday() <= 5:
        _requests["overseas_minute_bars_schedule"] = [""]


@dataclasses.dataclass
class Run:
    """One executed run request and what the test needs of its result."""

    when: dt.datetime
    schedule: str
    requested: str
    success: bool
    errors: list[str]
    failed_checks: list[str]
    metadata: dict[str, dict[str, Any]]

    def calls(self) -> int:
        return sum(int(meta.get("calls", 0)) for meta in self.metadata.values())


@dataclasses.dataclass
class Replay:
    requests: dict[dt.date, dict[str, list[str]]]
    runs: dict[dt.date, list[Run]]
    warehouse: Warehouse


def requested(request: dg.RunRequest) -> str:
    start = request.tags.get(ASSET_PARTITION_RANGE_START_TAG)
    if start is not None:
        return f"{start}..{request.tags[ASSET_PARTITION_RANGE_END_TAG]}"
    return request.partition_key or ""


def ticks_on(
    day: dt.date, schedules: list[dg.ScheduleDefinition]
) -> list[tuple[dt.datetime, dg.ScheduleDefinition]]:
    """(scheduled time, schedule) of every tick within the KST day, in firing order."""
    start = dt.datetime.combine(day, dt.time(0), KST)
    end = start + dt.timedelta(days=1)
    found = []
    for schedule in schedules:
        times = schedule_execution_time_iterator(
            start.timestamp(), schedule.cron_schedule, schedule.execution_timezone
        )
        for when in times:
            if when >= end:
                break
            found.append((when, schedule))
    return sorted(found, key=lambda tick: (tick[0], tick[1].name))


def summarize(when: dt.datetime, schedule: str, request: str, result: Any) -> Run:
    metadata: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        metadata.setdefault(
            materialization.asset_key.to_user_string(),
            {k: getattr(v, "value", v) for k, v in materialization.metadata.items()},
        )
    return Run(
        when=when,
        schedule=schedule,
        requested=request,
        success=result.success,
        errors=[
            event.event_specific_data.error.message.splitlines()[0]
            for event in result.all_events
            if event.is_step_failure and event.event_specific_data.error is not None
        ],
        failed_checks=[e.check_name for e in result.get_asset_check_evaluations() if not e.passed],
        metadata=metadata,
    )


class Clock:
    """Moves the pipeline's clock and a simulator with the same clock to a given moment."""

    def __init__(self, mp: pytest.MonkeyPatch, root: Path) -> None:
        self.mp = mp
        self.root = root
        self.server: SimulatorServer | None = None
        self.at: dt.datetime | None = None

    def move(self, when: dt.datetime) -> None:
        if when == self.at:
            return
        self.stop()
        self.server = SimulatorServer(dataclasses.replace(CONFIG, now=when)).start()
        environ = fast_environ(
            sim_environ(self.server, self.root / "state", KIS_WAREHOUSE=str(self.root / "wh"))
        )
        for name, value in environ.items():
            self.mp.setenv(name, value)
        self.mp.setenv(NOW, when.isoformat())
        self.at = when

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def bootstrap(clock: Clock, wh: Warehouse) -> None:
    """The warehouse as the nightly runs leave it on the Sunday evening before `FIRST`."""
    clock.move(dt.datetime(2025, 12, 28, 20, 0, tzinfo=KST))
    # The freshness checks look ten days back, the nightly prices' calendar lookup twenty.
    recent = ("2025-12-19", "2025-12-26")
    for day in MARKET.trading_days(*(dt.date.fromisoformat(d) for d in recent)):
        seed_symbols(wh, MARKET, day)
    run_assets([index_daily], partition_range=("2025-12-08", recent[1]))
    for year in ("2025", "2026"):
        run_assets([trading_calendar], partition_key=year)
        run_assets([overseas_calendar], partition_key=year)
    nightly = [daily_prices, daily_prices_adjusted, investor_flows, market_investor_flows, rankings]
    run_assets(nightly, partition_range=recent)
    run_assets([overseas_daily_prices], partition_range=recent)
    run_assets([built.asset for built in BUILT.values()], partition_range=recent)


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replay]:
    from kis_pipeline.definitions import defs

    root = tmp_path_factory.mktemp("schedules")
    repository = defs.get_repository_def()
    schedules = list(defs.schedules or [])
    instance = dg.DagsterInstance.ephemeral()
    wh = Warehouse(root / "wh")
    requests: dict[dt.date, dict[str, list[str]]] = {}
    runs: dict[dt.date, list[Run]] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KIS_SYMBOLS", ",".join(SYMBOLS))
        mp.delenv("KIS_MASTER_URL", raising=False)
        clock = Clock(mp, root)
        try:
            bootstrap(clock, wh)
            for day in DAYS:
                requests[day], runs[day] = {}, []
                for when, schedule in ticks_on(day, schedules):
                    clock.move(when)
                    context = dg.build_schedule_context(
                        scheduled_execution_time=when,
                        repository_def=repository,
                        instance=instance,
                        resources={k: RESOURCES[k] for k in schedule.required_resource_keys},
                    )
                    tick = schedule.evaluate_tick(context)
                    job = defs.resolve_job_def(schedule.job_name)
                    for request in tick.run_requests:
                        key = requested(request)
                        asked = requests[day].setdefault(schedule.name, [])
                        if key in asked:
                            # Tick compaction asks hourly for the same day; with no ticks
                            # streamed here each later run would repeat the first.
                            asked.append(key)
                            continue
                        asked.append(key)
                        result = job.execute_in_process(
                            instance=instance,
                            tags=request.tags,
                            run_config=request.run_config,
                            raise_on_error=False,
                        )
                        runs[day].append(summarize(when, schedule.name, key, result))
        finally:
            clock.stop()
        yield Replay(requests, runs, wh)


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_each_tick_requests_the_days_partitions(replay: Replay, day: dt.date) -> None:
    assert replay.requests[day] == EXPECTED[day]


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_every_requested_run_succeeds_without_a_failed_check(replay: Replay, day: dt.date) -> None:
    bad = [
        f"{run.when:%H:%M} {run.schedule} {run.requested}: {run.errors or run.failed_checks}"
        for run in replay.runs[day]
        if not run.success or run.failed_checks
    ]
    assert bad == []


def test_sessions_are_fetched_the_nightly_way_and_closed_days_cost_nothing(
    replay: Replay,
) -> None:
    for day in [*SESSIONS, *HOLIDAYS]:
        by_schedule = {run.schedule: run for run in replay.runs[day]}
        prices = by_schedule["daily_prices_schedule"].metadata
        if day in SESSIONS:
            # The latest session's prices come from the multi-quote, its rankings from KIS.
            assert prices["daily_prices"]["source"] == "multi_quote", day
            assert prices["daily_prices_adjusted"]["source"] == "daily_prices", day
            sources = by_schedule["rankings_schedule"].metadata["rankings"]["sources"]
            assert sources == {day.isoformat(): "kis"}, day
        else:
            for name in DAY_PARTITION_SCHEDULES:
                assert by_schedule[name].calls() == 0, (day, name)

    wh = replay.warehouse
    for day in [*SESSIONS, *HOLIDAYS]:
        for table, rows in (
            ("index_daily", 3),
            ("daily_prices", len(SYMBOLS)),
            ("daily_prices_adjusted", len(SYMBOLS)),
            ("investor_flows", len(SYMBOLS)),
            ("market_investor_flows", 2),
            # KIS ranks the whole market, whatever KIS_SYMBOLS says: 4 rankings of 30.
            ("rankings", 4 * 30),
        ):
            assert day.isoformat() in wh.partitions(table), (table, day)
            expected = rows if day in SESSIONS else 0
            stored = wh.read(table, [day.isoformat()])
            if table == "index_daily":
                # The sector sub-indices sit beside the three main indices.
                sectors = stored.filter(~pl.col("index_code").is_in(["0001", "1001", "2001"]))
                assert sectors.height == (len(SECTORS) if day in SESSIONS else 0), day
                stored = stored.join(sectors, on="index_code", how="anti")
            assert stored.height == expected, (table, day)
    # The master files are captured on sessions only.
    snapshots = [d for d in wh.partitions("symbols") if d >= FIRST.isoformat()]
    assert snapshots == [d.isoformat() for d in SESSIONS]


def test_the_calendar_covers_the_turn_of_the_year_as_it_was(replay: Replay) -> None:
    frame = replay.warehouse.read("trading_calendar", ["2025", "2026"])
    # From the first index bars of the bootstrap to chk-holiday's reach past the last tick.
    first, last = dt.date(2025, 12, 8), dt.date(2026, 1, 20)
    covered = frame.filter(pl.col("date").is_between(first, last))
    days = covered["date"].to_list()
    assert days == [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    for row in covered.iter_rows(named=True):
        assert row["is_trading_day"] == MARKET.is_trading_day(row["date"]), row


def test_maintenance_runs_every_morning_and_keeps_a_file_per_year(replay: Replay) -> None:
    from kis_pipeline.warehouse import TABLES

    runs = [
        run
        for day in DAYS
        for run in replay.runs[day]
        if run.schedule == "warehouse_maintenance_schedule"
    ]
    assert len(runs) == len(DAYS)
    # After each morning's run every daily table (2025 and 2026 at most) has one file a year.
    for run in runs:
        files = run.metadata["warehouse_maintenance"]["files"]
        after = {t: int(text.split(" -> ")[1]) for t, text in files.items()}
        daily = {t: n for t, n in after.items() if TABLES[t].layout is None}
        assert all(n <= 2 for n in daily.values()), (run.when, daily)
