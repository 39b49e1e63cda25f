"""`kis-pipeline backfill`: validation before any call, runs through Dagster in dependency
order, calls as planned, `--missing`, and the summary."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from kis_pipeline.cli import dagster_runner as runner
from kis_pipeline.cli.backfill_plan import (
    BackfillRequest,
    date_partitioned_assets,
    snapshot_assets,
    validate_request,
)
from kis_pipeline.cli.main import main
from kis_pipeline.common.clock import KST
from kis_pipeline.defs.flows import investor_flows
from kis_pipeline.defs.prices import daily_prices
from kis_pipeline.defs.resources import RESOURCES
from kis_pipeline.ingest.derived_lists import DERIVATIONS
from kis_pipeline.kis.endpoints.ranking_lists import RANKING_LISTS
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import TABLES, Warehouse
from tests.defs.seed import fast_config, point_at, seed, seed_symbols, served
from tests.helpers.simulator import SIM_CONFIG, sim_environ

warnings.filterwarnings("ignore", category=dg.BetaWarning)

CONFIG = fast_config(SIM_CONFIG)
MARKET = Market(CONFIG)
SYMBOLS = [MARKET.listings[i].symbol for i in (0, 3, 47)]
PRICE_ASSETS = "daily_prices,daily_prices_adjusted"
# The assets stamped `as_of` the day they were fetched, which no range backfill can hold.
SNAPSHOT_ASSETS = sorted(
    [
        "analyst_estimates",
        "analyst_opinions",
        "balance_sheet",
        "bond_info",
        "condition_results",
        "financial_ratios",
        "growth_ratios",
        "income_statement",
        "news_titles",
        "other_ratios",
        "overseas_minute_bars",
        "profit_ratios",
        "stability_ratios",
        "stock_info",
        "stock_status",
        # KIS's ranking screens (SPEC §8.4-§8.16) that the warehouse cannot reproduce for a
        # past day: what they show after the session only.
        *(table for table in RANKING_LISTS if table not in DERIVATIONS),
    ]
)


@pytest.fixture
def env(
    fast_sim: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    values = point_at(fast_sim, tmp_path / "wh", tmp_path / "state", monkeypatch)
    monkeypatch.chdir(tmp_path)
    seed(Warehouse(tmp_path / "wh"), MARKET)
    return values


@pytest.fixture
def bare(fast_sim: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    """The environment of `env` over an empty warehouse (no calendar, no universe)."""
    point_at(fast_sim, tmp_path / "wh", tmp_path / "state", monkeypatch)
    monkeypatch.chdir(tmp_path)
    return Warehouse(tmp_path / "wh")


def backfill(*args: str) -> int:
    return main(["backfill", *args])


def test_a_backfill_of_every_asset_names_the_assets_it_leaves_out() -> None:
    from kis_pipeline.definitions import defs

    # Statements, stock info and analyst figures are stamped with the day they were fetched: no
    # past day can be fetched, so a range backfill cannot hold them, and it says so instead.
    assert snapshot_assets(defs) == SNAPSHOT_ASSETS
    assert not set(snapshot_assets(defs)) & set(date_partitioned_assets(defs))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from", "2024-02-01", "--to", "2024-01-31"], "--from 2024-02-01 is after --to"),
        (["--from", "2024-01-02", "--to", "2099-01-01"], "--to 2099-01-01 is in the future"),
        (["--from", "2014-12-01", "--to", "2015-01-09"], "before the data start 2015-01-02"),
        (
            ["--from", "2024-01-02", "--to", "2024-01-05", "--assets", "daily_prices,prices"],
            "unknown asset(s) prices; known assets: ",
        ),
        (
            ["--from", "2024-01-02", "--to", "2024-01-05", "--symbols", "005930,12AB"],
            "malformed symbol(s) 12AB",
        ),
        (
            ["--from", "2024-01-02", "--to", "2024-01-05", "--symbols", "005930,999990"],
            "unknown symbol(s) 999990: not in the 2026-11-20 symbols snapshot",
        ),
        # A weekday partition spans the weekend after it: this once fetched Friday 01-05.
        (
            ["--from", "2024-01-06", "--to", "2024-01-07", "--assets", "daily_prices"],
            "--from 2024-01-06 --to 2024-01-07 holds no trading session (a weekend)",
        ),
    ],
)
def test_bad_requests_are_one_line_and_call_nothing(
    env: dict[str, str],
    fast_sim: SimulatorServer,
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert backfill(*argv) == 1
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert served(fast_sim, env["KIS_APP_KEY"]) == 0


def test_the_default_selection_is_every_date_partitioned_batch_asset() -> None:
    from kis_pipeline.definitions import defs

    settings = KisSettings.from_env({"KIS_ENV": "sim"})
    request = BackfillRequest(dt.date(2024, 1, 2), dt.date(2024, 1, 5))
    names = {k.to_user_string() for k in validate_request(request, defs, settings)}
    assert {"daily_prices", "daily_prices_adjusted", "overseas_daily_prices"} <= names
    assert "trade_ticks" not in names
    # Ranking screens: the snapshots are left out, the derived ones come only when named.
    assert "disparity_rankings" not in names and "valuation_rankings" not in names


def test_runs_are_planned_in_dependency_order() -> None:
    from kis_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    wanted = [
        dg.AssetKey(n) for n in ("disparity_rankings", "daily_prices_adjusted", "daily_prices")
    ]
    for upstream in ("symbols", "trading_calendar"):
        if graph.has(dg.AssetKey(upstream)) and graph.get(dg.AssetKey(upstream)).is_materializable:
            wanted.append(dg.AssetKey(upstream))
    keys = {
        key: runner.partition_keys_in_range(
            graph.get(key).partitions_def, dt.date(2024, 1, 2), dt.date(2024, 1, 12)
        )
        for key in wanted
    }
    runs = runner.plan_runs(defs, wanted, keys)
    order = [name for run in runs for name in run.names]
    for parent, child in [
        ("trading_calendar", "daily_prices"),
        ("symbols", "daily_prices"),
        ("daily_prices", "daily_prices_adjusted"),
        ("daily_prices", "disparity_rankings"),
    ]:
        if parent in order:
            assert order.index(parent) <= order.index(child)
    price_runs = [run for run in runs if "daily_prices" in run.names]
    # Single-run backfill policy: the whole range is one run.
    assert len(price_runs) == 1 and len(price_runs[0].keys) == 9
    assert "daily_prices_adjusted" in price_runs[0].names


def test_families_whose_policies_cut_a_range_alike_share_its_run() -> None:
    """daily_prices is one run a range, credit_balance one run a year of weekdays: within a
    year they share a run (so one's fetching overlaps the other's writing); over three years
    the prices stay one run and credit_balance is cut by year."""
    from kis_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    wanted = [dg.AssetKey("daily_prices"), dg.AssetKey("credit_balance")]

    def runs(start: dt.date, end: dt.date) -> list[runner.RunSpec]:
        keys = {
            key: runner.partition_keys_in_range(graph.get(key).partitions_def, start, end)
            for key in wanted
        }
        return runner.plan_runs(defs, wanted, keys)

    year = runs(dt.date(2024, 2, 1), dt.date(2024, 11, 29))
    assert [sorted(run.names) for run in year] == [["credit_balance", "daily_prices"]]
    assert len(year[0].keys) == 217

    three = runs(dt.date(2022, 1, 3), dt.date(2024, 12, 31))
    prices = [run for run in three if "daily_prices" in run.names]
    credit = [run for run in three if "credit_balance" in run.names]
    assert [run.names for run in prices] == [["daily_prices"]] and len(prices[0].keys) == 782
    assert len(credit) == 3 and all(len(run.keys) <= 261 for run in credit)
    assert sorted(k for run in credit for k in run.keys) == sorted(prices[0].keys)


def test_backfill_makes_the_planned_calls_and_missing_does_only_new_partitions(
    env: dict[str, str],
    fast_sim: SimulatorServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = env["KIS_APP_KEY"]
    symbols = ",".join(SYMBOLS)
    assert (
        backfill(
            "--from",
            "2023-03-01",
            "--to",
            "2023-09-29",
            "--assets",
            PRICE_ASSETS,
            "--symbols",
            symbols,
        )
        == 0
    )
    captured = capsys.readouterr()
    trading = MARKET.trading_days(dt.date(2023, 3, 1), dt.date(2023, 9, 29))
    planned = 2 * len(SYMBOLS) * math.ceil(len(trading) / 100)
    assert len(trading) > 100  # two windows per symbol and kind
    assert served(fast_sim, key) == planned
    assert f"requests: {planned} made, {planned} planned, 0 retries" in captured.out
    assert "daily_prices: " in captured.out and "partitions" in captured.err
    wh = Warehouse(tmp_path / "wh")
    assert wh.read("daily_prices").height == len(trading) * len(SYMBOLS)

    # The instance beside the warehouse recorded every partition...
    with runner.open_instance(tmp_path / "wh" / ".dagster") as instance:
        done = instance.get_materialized_partitions(dg.AssetKey("daily_prices"))
    assert "2023-03-02" in done and "2023-09-29" in done

    # ...so --missing over a longer range fetches only the new week.
    assert (
        backfill(
            "--from",
            "2023-03-01",
            "--to",
            "2023-10-06",
            "--assets",
            PRICE_ASSETS,
            "--symbols",
            symbols,
            "--missing",
        )
        == 0
    )
    new_days = MARKET.trading_days(dt.date(2023, 9, 30), dt.date(2023, 10, 6))
    assert served(fast_sim, key) == planned + 2 * len(SYMBOLS) * math.ceil(len(new_days) / 100)
    assert wh.read("daily_prices").height == (len(trading) + len(new_days)) * len(SYMBOLS)

    # Done for these symbols (the other symbols' rows were never fetched: see
    # test_missing_after_a_symbols_backfill_fills_the_other_symbols).
    capsys.readouterr()
    span = ("--from", "2023-03-01", "--to", "2023-10-06")
    assert backfill(*span, "--assets", PRICE_ASSETS, "--symbols", symbols, "--missing") == 0
    assert "nothing to do" in capsys.readouterr().err


def test_a_range_the_calendar_does_not_cover_gets_its_calendar_first(
    bare: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    wh = bare
    seed_symbols(wh, MARKET)  # a universe, but no calendar at all
    assert backfill("--from", "2024-04-29", "--to", "2024-05-10", "--assets", "daily_prices") == 0
    captured = capsys.readouterr()
    assert "adding index_daily for 2024-04-29..2024-05-10" in captured.err
    trading = MARKET.trading_days(dt.date(2024, 4, 29), dt.date(2024, 5, 10))
    # 2024-05-01 (Labour Day), 05-06 (substitute holiday): weekdays without a session.
    assert len(trading) == 8
    listed = wh.read("symbols")["symbol"].n_unique()
    assert wh.read("daily_prices").height == len(trading) * listed


def test_an_existing_calendar_that_starts_later_is_extended_not_refused(
    bare: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    wh = bare
    seed_symbols(wh, MARKET)
    assert backfill("--from", "2024-06-03", "--to", "2024-06-14", "--assets", "daily_prices") == 0
    capsys.readouterr()

    # The calendar alone, for days before its first: it brings the bars it is built from.
    assert (
        backfill("--from", "2024-04-01", "--to", "2024-04-30", "--assets", "trading_calendar") == 0
    )
    captured = capsys.readouterr()
    assert "adding index_daily for 2024-04-01..2024-04-30" in captured.err
    assert "checks failed" not in captured.out
    calendar = wh.read("trading_calendar")
    april = calendar.filter(pl.col("date").is_between(dt.date(2024, 4, 1), dt.date(2024, 4, 30)))
    assert april.height == 30
    assert sorted(april.filter(pl.col("is_trading_day"))["date"]) == MARKET.trading_days(
        dt.date(2024, 4, 1), dt.date(2024, 4, 30)
    )

    # A daily asset for days before the calendar's first: the command adds what it needs.
    assert backfill("--from", "2024-03-04", "--to", "2024-03-08", "--assets", "daily_prices") == 0
    assert "adding trading_calendar for 2024" in capsys.readouterr().err
    march = MARKET.trading_days(dt.date(2024, 3, 4), dt.date(2024, 3, 8))
    prices = wh.read("daily_prices").filter(pl.col("date").is_in(march))
    assert prices.height == len(march) * len(MARKET.listings)


def test_sql_prints_a_table_and_bad_sql_is_one_line(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sql", "select count(*) as listed from symbols"]) == 0
    out = capsys.readouterr().out
    assert "listed" in out and str(len(MARKET.listings)) in out and "(1 row)" in out

    assert main(["sql", "select * from no_such_table"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Catalog Error") and len(err.strip().splitlines()) == 1

    # The lake is opened read-only: a write is refused, not performed.
    assert main(["sql", "drop table symbols"]) == 1
    assert "read-only" in capsys.readouterr().err


def test_sql_without_a_warehouse_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KIS_WAREHOUSE", str(tmp_path / "nowhere"))
    assert main(["sql", "select 1"]) == 1
    err = capsys.readouterr().err
    assert "no warehouse at" in err and len(err.strip().splitlines()) == 1


# The simulator's clock stops on Friday 2026-11-20 at 18:00; these weeks are in its history.
WEEK = ("--from", "2026-11-09", "--to", "2026-11-13")
NEXT_WEEK = ("--from", "2026-11-16", "--to", "2026-11-20")
PER_SYMBOL = ("daily_prices", "daily_prices_adjusted", "investor_flows")


def stored(wh: Warehouse, table: str) -> pl.DataFrame:
    return wh.read(table).sort(list(TABLES[table].sort))


def test_a_backfill_for_some_symbols_replaces_only_their_rows(
    env: dict[str, str], tmp_path: Path
) -> None:
    wh = Warehouse(tmp_path / "wh")
    assert backfill(*WEEK, "--assets", ",".join(PER_SYMBOL)) == 0
    before = {table: stored(wh, table) for table in PER_SYMBOL}
    listed = before["daily_prices"]["symbol"].n_unique()
    assert listed == len(MARKET.listings) and before["investor_flows"].height == 5 * listed
    # Spoil one symbol's bars: the run for that symbol must put them right, and touch no other.
    symbol = SYMBOLS[1]
    for key in wh.partitions("daily_prices"):
        day = wh.read("daily_prices", [key])
        spoiled = pl.col("symbol") == symbol
        wh.write_partition(
            "daily_prices", key, day.with_columns(close=pl.when(spoiled).then(1).otherwise("close"))
        )
    assert backfill(*WEEK, "--assets", ",".join(PER_SYMBOL), "--symbols", symbol) == 0
    for table, frame in before.items():
        assert stored(wh, table).equals(frame), table


def test_missing_after_a_symbols_backfill_fills_the_other_symbols(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A `--symbols` run records its partitions as materialized, yet they hold only its symbols'
    # rows: `--missing` for more symbols once skipped them and left the others out for good.
    wh = Warehouse(tmp_path / "wh")
    assert backfill(*WEEK, "--assets", "daily_prices", "--symbols", SYMBOLS[0]) == 0
    assert set(stored(wh, "daily_prices")["symbol"]) == {SYMBOLS[0]}
    assert backfill(*WEEK, "--assets", "daily_prices", "--symbols", SYMBOLS[0], "--missing") == 0
    assert "nothing to do" in capsys.readouterr().err  # what the run covered is done
    both = ",".join(SYMBOLS[:2])
    assert backfill(*WEEK, "--assets", "daily_prices", "--symbols", both, "--missing") == 0
    assert set(stored(wh, "daily_prices")["symbol"]) == set(SYMBOLS[:2])
    assert backfill(*WEEK, "--assets", "daily_prices", "--missing") == 0
    assert stored(wh, "daily_prices")["symbol"].n_unique() == len(MARKET.listings)
    capsys.readouterr()
    assert backfill(*WEEK, "--assets", "daily_prices", "--missing") == 0
    assert "nothing to do" in capsys.readouterr().err


def test_the_summary_counts_the_overseas_rows_a_symbols_backfill_wrote(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `--symbols` restricts the domestic universe; overseas bars are of their own tickers, and
    # the summary once said "0 rows" for the bars it had just written.
    assert backfill(*WEEK, "--assets", "overseas_daily_prices", "--symbols", SYMBOLS[0]) == 0
    rows = Warehouse(tmp_path / "wh").read("overseas_daily_prices").height
    assert rows > 0
    assert f"overseas_daily_prices: {rows} rows" in capsys.readouterr().out


def test_a_failed_fetch_keeps_the_stored_rows_and_missing_repairs_the_rest(
    env: dict[str, str],
    fast_sim: SimulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wh = Warehouse(tmp_path / "wh")
    assert backfill(*WEEK, "--assets", "daily_prices") == 0
    before = stored(wh, "daily_prices")
    # An unreachable host, and no fetched window to fall back on.
    shutil.rmtree(tmp_path / "wh" / "raw")
    monkeypatch.setenv("KIS_REST_URL", "http://127.0.0.1:9")
    capsys.readouterr()
    assert backfill(*WEEK, "--assets", "daily_prices", "--symbols", SYMBOLS[0]) == 1
    assert stored(wh, "daily_prices").equals(before)
    # The summary claims no rows for a run that wrote none, and the bar does not end complete.
    captured = capsys.readouterr()
    assert "daily_prices: 0 rows" in captured.out
    assert "failed, nothing recorded" in captured.err

    # The failed run recorded nothing and broke nothing: --missing fetches the new week only.
    monkeypatch.setenv("KIS_REST_URL", env["KIS_REST_URL"])
    calls = served(fast_sim, env["KIS_APP_KEY"])
    capsys.readouterr()
    assert (
        backfill("--from", WEEK[1], "--to", NEXT_WEEK[3], "--assets", "daily_prices", "--missing")
        == 0
    )
    assert served(fast_sim, env["KIS_APP_KEY"]) - calls == len(MARKET.listings)
    assert stored(wh, "daily_prices").height == 10 * len(MARKET.listings)


@pytest.fixture(scope="module")
def session_sim() -> Iterator[SimulatorServer]:
    """The simulator during the session of Friday 2026-11-20."""
    with SimulatorServer(dataclasses.replace(CONFIG, now=DURING_SESSION)) as server:
        yield server


DURING_SESSION = dt.datetime(2026, 11, 20, 11, 0, tzinfo=KST)


@pytest.mark.parametrize("assets", ["daily_prices", "investor_flows", ""])
def test_a_session_that_has_not_settled_is_refused_before_any_call(
    env: dict[str, str],
    fast_sim: SimulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    assets: str,
) -> None:
    monkeypatch.setenv("KIS_NOW", "2026-11-20T15:35")
    selection = ["--assets", assets] if assets else []
    assert backfill(*NEXT_WEEK, *selection) == 1
    err = capsys.readouterr().err
    assert "the 2026-11-20 session has not settled yet: it can be fetched from 15:40 KST" in err
    assert len(err.strip().splitlines()) == 1
    assert served(fast_sim, env["KIS_APP_KEY"]) == 0


@pytest.mark.parametrize("asset", [daily_prices, investor_flows], ids=lambda a: a.key.path[0])
def test_a_run_of_an_open_session_fails_and_records_nothing(
    session_sim: SimulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    asset: dg.AssetsDefinition,
) -> None:
    """Launched from the UI during the session, today's partition is neither written nor
    recorded as materialized (it used to be an empty partition, shown green)."""
    for name, value in sim_environ(session_sim, tmp_path / "state").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KIS_WAREHOUSE", str(tmp_path / "wh"))
    monkeypatch.setenv("KIS_NOW", DURING_SESSION.isoformat())
    wh = Warehouse(tmp_path / "wh")
    seed(wh, session_sim.state.market)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [asset],
            resources=RESOURCES,
            partition_key="2026-11-20",
            instance=instance,
            raise_on_error=False,
        )
        assert not result.success
        assert instance.get_materialized_partitions(asset.key) == set()
    message = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert "2026-11-20 session has not settled yet" in message.description
    assert wh.partitions(asset.key.path[0]) == []


def test_a_fresh_warehouse_during_the_session_records_only_settled_days(
    session_sim: SimulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reference assets a fresh warehouse needs stop at the last settled session."""
    point_at(session_sim, tmp_path / "wh", tmp_path / "state", monkeypatch)
    monkeypatch.setenv("KIS_NOW", DURING_SESSION.isoformat())
    monkeypatch.chdir(tmp_path)
    assert backfill("--from", "2026-11-16", "--to", "2026-11-19", "--assets", "daily_prices") == 0
    wh = Warehouse(tmp_path / "wh")
    assert wh.read("daily_prices").height == 4 * wh.read("symbols")["symbol"].n_unique()
    with runner.open_instance(tmp_path / "wh" / ".dagster") as instance:
        index_days = instance.get_materialized_partitions(dg.AssetKey("index_daily"))
    assert "2026-11-19" in index_days and "2026-11-20" not in index_days


def test_the_market_activity_families_backfill_and_a_missing_rerun_makes_no_call(
    env: dict[str, str], fast_sim: SimulatorServer, tmp_path: Path
) -> None:
    from kis_pipeline.definitions import defs
    from kis_pipeline.kis.endpoints.trends import TRENDS

    assert set(TRENDS) <= set(date_partitioned_assets(defs))
    key = env["KIS_APP_KEY"]
    assets = ",".join(TRENDS)
    span = ("--from", "2023-09-25", "--to", "2023-10-06", "--symbols", ",".join(SYMBOLS))
    assert backfill(*span, "--assets", assets) == 0
    # One call per symbol and family: the whole range is one window.
    assert served(fast_sim, key) == len(TRENDS) * len(SYMBOLS)
    wh = Warehouse(tmp_path / "wh")
    sessions = MARKET.trading_days(dt.date(2023, 9, 25), dt.date(2023, 10, 6))
    for table in TRENDS:
        assert wh.read(table).height == len(sessions) * len(SYMBOLS), table
    assert backfill(*span, "--assets", assets, "--missing") == 0
    assert served(fast_sim, key) == len(TRENDS) * len(SYMBOLS)


def test_the_summary_rate_counts_assets_fetching_side_by_side_once() -> None:
    """Two assets read ahead in one run fetch over the same 10 s: 340 calls in 10 s is 34/s,
    not 17/s over 20 s."""
    import io

    from kis_pipeline.cli.backfill import RunOutcome, Summary, print_summary

    run = runner.RunSpec((dg.AssetKey("a"), dg.AssetKey("b")), ("2024-01-02",), True)
    both = {
        name: {
            "asset": name,
            "calls": 170,
            "calls_planned": 170,
            "started_at": 100.0,
            "finished_at": 110.0,
            "rows": 1,
        }
        for name in ("a", "b")
    }
    later = {"c": {"asset": "c", "calls": 34, "started_at": 110.0, "finished_at": 112.0}}
    out = io.StringIO()
    summary = Summary(
        runs=[RunOutcome(run, True, 10.0, assets=both), RunOutcome(run, True, 2.0, assets=later)],
        rate_limit=34.0,
    )
    print_summary(summary, out)
    assert "rate: 31.2 requests/s while assets that report progress ran" in out.getvalue()


def test_the_summary_counts_sector_indices_under_index_daily(
    env: dict[str, str], fast_sim: SimulatorServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """sector_index_daily writes into index_daily: the summary gives no "0 rows" line of its
    own, index_daily's line counts the sector rows, and every call is counted."""
    span = ("--from", "2026-11-16", "--to", "2026-11-20")
    assert backfill(*span, "--assets", "index_daily,sector_index_daily") == 0
    out = capsys.readouterr().out
    assert "sector_index_daily:" not in out
    rows = Warehouse(Path(env["KIS_WAREHOUSE"])).read("index_daily").height
    assert rows > 0 and f"index_daily: {rows} rows" in out
    assert f"requests: {served(fast_sim, env['KIS_APP_KEY'])} made" in out


def test_a_derivable_ranking_screen_backfills_after_the_prices_it_is_derived_from(
    env: dict[str, str],
    fast_sim: SimulatorServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KIS_NOW", "2026-11-20T18:00")
    table = "disparity_rankings"
    assert backfill("--from", "2026-11-09", "--to", "2026-11-10", "--assets", table) == 0
    err = capsys.readouterr().err
    # The prices of the range and of the 20 sessions before it a day needs to be ranked, which
    # the warehouse lacked; not the 120 of the longest window, which stays null instead.
    assert (
        "adding daily_prices for 2026-10-06..2026-11-10: disparity_rankings derive each day "
        "from them (daily_prices: the 20 sessions up to it)" in err
    ), err
    wh = Warehouse(Path(env["KIS_WAREHOUSE"]))
    stored = wh.read(table)
    assert set(stored["source"]) == {"derived"}
    assert sorted(stored["date"].unique()) == [dt.date(2026, 11, 9), dt.date(2026, 11, 10)]
    assert stored["disparity_20d"].null_count() == 0
    assert stored["disparity_120d"].null_count() == stored.height
