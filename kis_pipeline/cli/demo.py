"""`kis-pipeline demo` (`make demo`): the whole pipeline, end to end, on the simulator.

1. backfill about 60 trading days of every batch asset (prices, flows, rankings, the market
   activity families, ...) for the simulator's universe through Dagster (and 005930 around
   its 2018 split, to show adjusted prices, and June 2020 on that day's universe, with a name
   delisted since, through `listings`), and the last session's one-minute bars of the most
   traded names and the main indices' ten-minute bars, that session's KOSPI200 futures and
   options chain, and what the simulator's saved
   screening condition matches; then the snapshots KIS serves only as they stand
   today (statements, stock info, analyst coverage), `market_daily` from the warehouse,
   today's headlines, KIS's ranking screens of the session, and stock info of the
   simulator's delisted names, which the point-in-time universe keeps;
2. stream ticks (trades, quotes, program trading, market status) for 30 seconds through the
   collector, then persist the sealed spool segments
   the way production does: the code location's `tick_segments_sensor` is evaluated through
   Dagster's tick evaluation and each run it requests (one per batch of segments) is executed;
3. compact, and print rows per table, the requests made against the limit, and a few SQL
   answers from the DuckDB catalog.

A second `make demo` reuses what is there: the backfill only does partitions not yet
materialized (`--missing`), and the stream adds another 30 seconds of ticks.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import sys
import time
from collections.abc import Callable
from typing import TypeVar

import dagster as dg
import polars as pl

from kis_pipeline.cli import dagster_runner
from kis_pipeline.cli.backfill import run_backfill
from kis_pipeline.cli.backfill_plan import BackfillRequest
from kis_pipeline.common.ranking_schemas import RANKING_LISTS
from kis_pipeline.defs.backend import backend, open_warehouse
from kis_pipeline.defs.fundamentals.statements import STATEMENTS
from kis_pipeline.ingest.derived_lists import DERIVATIONS
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints import index
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.lib.run_context import SYMBOLS_TAG
from kis_pipeline.simulator.market_bonds import TREASURIES
from kis_pipeline.simulator.market_company import FORMER_LISTINGS
from kis_pipeline.simulator.market_elws import ELWS
from kis_pipeline.simulator.rest_conditions import SAVED
from kis_pipeline.streaming.subscriptions import FEEDS
from kis_pipeline.warehouse import connect

T = TypeVar("T")
SESSIONS = 60
STREAM_SECONDS = 30.0
SIM_OVERSEAS = "NAS:AAPL,HKS:00700"
SIM_BONDS = ",".join(bond.code for bond in TREASURIES)
SIM_ELWS = ",".join(elw.code for elw in ELWS)
SIM_CONDITION = SAVED["0"][1]  # the simulator's saved screen of the most traded names
STREAM_TRS = tuple(FEEDS[name] for name in ("trades", "quotes", "program", "market_status"))
# Overseas tickers whose delayed trades the demo's stream carries beside the domestic feeds.
STREAM_OVERSEAS = (("NAS", "AAPL"), ("HKS", "00700"))
SPLIT_SYMBOL = "005930"  # the simulator splits it 1:50 on 2018-05-04, as KRX did
SPLIT_RANGE = (dt.date(2018, 4, 23), dt.date(2018, 5, 16))
# A past month whose universe holds a name delisted since (the simulator's shipping line traded
# until 2020-06-12): the backfill builds `listings` first and prices that day's universe.
SURVIVORSHIP_RANGE = (dt.date(2020, 6, 1), dt.date(2020, 6, 19))
BATCH_ASSETS = (
    "index_daily,sector_index_daily,trading_calendar,symbols,daily_prices,daily_prices_adjusted,"
    "overseas_calendar,overseas_daily_prices,rankings,investor_flows,market_investor_flows,"
    "dividends,daily_trade_volume,short_sales,credit_balance,lending_balance,program_trading,"
    "market_program_trading,member_flows"
)
# The ranking screens KIS shows only for the latest session, and those the warehouse derives
# for earlier days too (day-partitioned, so they run as a backfill).
SNAPSHOT_LISTS = tuple(t for t in RANKING_LISTS if t not in DERIVATIONS)
DERIVED_LISTS = tuple(DERIVATIONS)
SPLIT_ASSETS = "index_daily,trading_calendar,daily_prices,daily_prices_adjusted"
# What KIS shows only as it stands today, refreshed by the weekly schedules.
WEEKLY_ASSETS = (
    *(asset.key.path[-1] for asset in STATEMENTS),
    "stock_info",
    "stock_status",
    "analyst_estimates",
    "analyst_opinions",
)
# The simulator's names delisted before its history: no master file lists them any more, so a
# run names them, as a user would the names of an old universe; KIS still describes them.
DELISTED = tuple(former.symbol for former in FORMER_LISTINGS)
QUERIES: tuple[tuple[str, str], ...] = (
    (
        "Corporate actions by kind (corporate_actions): who reported them and when",
        """select kind, count(*) as actions, min(ex_date) as first, max(ex_date) as last,
                  string_agg(distinct source, ' ' order by source) as sources
           from corporate_actions group by kind order by kind""",
    ),
    (
        "Top movers on the last session (rankings, captured from KIS after the close)",
        """select rank, symbol, name, price, change_rate
           from rankings where ranking = 'rise' and date = (select max(date) from rankings)
           order by rank limit 5""",
    ),
    (
        "Highest margin-loan balances on the last session (credit_rankings, %)",
        """select rank, symbol, name, loan_balance_rate, loan_balance_change_rate
           from credit_rankings where ranking = 'loan_rate'
             and date = (select max(date) from credit_rankings)
           order by rank limit 5""",
    ),
    (
        "Foreign net buying over the backfilled period (KRW 100 million)",
        """select f.symbol, any_value(s.name) as name,
                  round(sum(f.foreign_net_value) / 1e8, 1) as foreign_net
           from investor_flows f left join symbols s using (symbol)
           group by f.symbol order by foreign_net desc limit 5""",
    ),
    (
        "Program net buying and short-sale share on the last session (KRW 100 million, %)",
        """select p.symbol, round(p.net_value / 1e8, 1) as program_net,
                  s.short_volume_share as short_pct, c.loan_balance_rate as credit_pct
           from program_trading p join short_sales s using (date, symbol)
                join credit_balance c using (date, symbol)
           where p.date = (select max(date) from program_trading)
           order by abs(p.net_value) desc limit 5""",
    ),
    (
        f"{SPLIT_SYMBOL} raw and adjusted across its 1:50 split (2018-05-04)",
        f"""select date, p.close as raw_close, a.close as adjusted_close, a.adj_factor
            from daily_prices p join daily_prices_adjusted a using (date, symbol)
            where symbol = '{SPLIT_SYMBOL}' and date between '2018-04-27' and '2018-05-10'
            order by date""",
    ),
    (
        "Delisted names kept in the point-in-time universe (stock_info)",
        """select symbol, name, market, listed_on, delisted_on from stock_info
           where delisted_on is not null and as_of = (select max(as_of) from stock_info)
           order by delisted_on""",
    ),
    (
        "Names delisted since, priced in their last sessions of June 2020 (listings)",
        """select l.symbol, l.name, l.listed_on, l.delisted_on, l.source,
                  max(p.date) as last_priced, arg_max(p.close, p.date) as last_close
           from listings l join daily_prices p using (symbol)
           where l.as_of = (select max(as_of) from listings) and l.delisted_on is not null
             and p.date between '2020-06-01' and '2020-06-19'
           group by all order by l.delisted_on""",
    ),
    (
        "Broker target prices against the close (analyst_opinions, newest reports)",
        """select o.date, o.symbol, o.broker, o.opinion, o.target_price, p.close,
                  round(100.0 * o.target_price / p.close - 100, 1) as upside_pct
           from analyst_opinions o join daily_prices p using (date, symbol)
           where o.as_of = (select max(as_of) from analyst_opinions)
           order by o.date desc, o.symbol limit 5""",
    ),
    (
        "The last session's VWAP and that of its last 30 minute bars (minute_bars)",
        """select symbol, count(*) as bars, round(sum(value) / sum(volume), 1) as vwap,
                  round(sum(value) filter (where late) / sum(volume) filter (where late), 1)
                      as vwap_close,
                  arg_max(close, ts) as close
           from (select *, row_number() over (partition by symbol order by ts desc) <= 30 as late
                 from minute_bars where date = (select max(date) from minute_bars))
           group by symbol order by sum(value) desc limit 5""",
    ),
    (
        "ETFs against their NAV: the last premium, its mean and spread over the period (%), and "
        "the NAV's return against KOSPI200's (etf_nav, index_daily)",
        """select e.symbol, arg_max(e.close, e.date) as close, arg_max(e.nav, e.date) as nav,
                  arg_max(e.premium_rate, e.date) as premium,
                  round(avg(e.premium_rate), 3) as avg_premium,
                  round(stddev(e.premium_rate), 3) as sd_premium,
                  round(100 * (arg_max(e.nav, e.date) / arg_min(e.nav, e.date) - 1), 2)
                      as nav_return,
                  round(100 * (arg_max(k.close, e.date) / arg_min(k.close, e.date) - 1), 2)
                      as kospi200_return
           from etf_nav e join index_daily k on k.date = e.date and k.index_code = '2001'
           group by e.symbol order by e.symbol""",
    ),
    (
        "ELWs: the last close, implied volatility against the underlying's 20-day historical "
        "one (%), and the close's range over the period (elw_prices)",
        """select symbol, arg_max(close, date) as close, arg_max(implied_vol, date) as implied,
                  arg_max(hist_vol_20d, date) as hist_20d, min(low) as low, max(high) as high,
                  count(*) as sessions
           from elw_prices group by symbol order by symbol""",
    ),
    (
        "Delayed overseas trades streamed beside them (overseas_ticks): per ticker, the trades, "
        "the last price and the local time of the last one",
        """select venue as exchange, symbol, count(*) as trades, arg_max(price, ts) as last,
                  max(local_time) as local_time
           from overseas_ticks group by all order by exchange, symbol""",
    ),
    (
        "Intraday VWAP from the streamed ticks",
        """select symbol, count(*) as trades, round(sum(price * volume) / sum(volume), 1) as vwap,
                  min(price) as low, max(price) as high
           from trade_ticks where date = (select max(date) from trade_ticks)
           group by symbol order by trades desc limit 5""",
    ),
)


def _step(title: str, work: Callable[[], T]) -> T:
    print(f"\n== {title}", flush=True)
    started = time.perf_counter()
    result = work()
    print(f"   done in {time.perf_counter() - started:.1f} s", flush=True)
    return result


def _last_session(settings: KisSettings) -> dt.date:
    # The index chart's newest bar is the last completed session: no clock or calendar guess.
    with KisClient(settings) as client:
        today = dt.date.today()
        bars = index.fetch_index_daily(client, "0001", today - dt.timedelta(days=14), today)
    return bars["date"].max()


def _backfill(
    settings: KisSettings,
    start: dt.date,
    end: dt.date,
    assets: str,
    symbols: tuple[str, ...] = (),
) -> bool:
    request = BackfillRequest(
        start=start,
        end=end,
        assets=tuple(assets.split(",")),
        symbols=symbols,
        missing=True,
    )
    report = io.StringIO()
    summary = run_backfill(request, stream=sys.stderr, out=report, settings=settings)
    print("   " + report.getvalue().strip().replace("\n", "\n   "))
    return summary.ok


QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def _weekly(
    settings: KisSettings,
    assets: tuple[str, ...] = WEEKLY_ASSETS,
    tags: dict[str, str] | None = None,
) -> bool:
    """The weekly snapshots (one call per symbol and table), as their schedules run them."""
    from kis_pipeline.definitions import defs
    from kis_pipeline.defs.resources import simulator_resources

    resources = simulator_resources(settings) if settings.env == "sim" else None
    keys = [dg.AssetKey(t) for t in assets]
    # A job of their own: the implicit job with an asset selection refuses resources given
    # as values (the demo's simulator), a job defined for the selection takes them.
    job = dg.Definitions.merge(
        defs, dg.Definitions(jobs=[dg.define_asset_job("demo_weekly", selection=keys)])
    ).resolve_job_def("demo_weekly")
    with dagster_runner.open_instance(dagster_runner.dagster_home(settings)) as instance:
        result = job.execute_in_process(
            run_config=QUIET,
            instance=instance,
            raise_on_error=False,
            resources=resources,
            tags=tags,
        )
    for line in dagster_runner.step_errors(result):
        print(f"   {line}", file=sys.stderr)
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        meta = materialization.metadata
        rows, calls = meta.get("rows"), meta.get("calls")
        print(
            f"   {materialization.asset_key.to_user_string()}: "
            f"{getattr(rows, 'value', '?')} rows, {getattr(calls, 'value', '?')} requests"
        )
    return result.success


def _with_env(
    name: str, value: str, settings: KisSettings, asset: str, work: Callable[[], bool] | None = None
) -> bool:
    """`asset` (or `work`) with the variable `name` set to `value` for the run (the runs read
    their settings from the environment)."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        return work() if work is not None else _weekly(settings, (asset,))
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before


def _persist_with_sensor(settings: KisSettings) -> int:
    """Evaluate `tick_segments_sensor` of the code location and run what it requests, as the
    daemon would: Dagster's own tick evaluation, given the code location's resources the way its
    code server gives them."""
    from kis_pipeline.definitions import defs

    repository = defs.get_repository_def()
    sensor = repository.get_sensor_def("tick_segments_sensor")
    resources = {
        key: value
        for key, value in repository.get_top_level_resources().items()
        if key in sensor.required_resource_keys
    }
    runs = 0
    cursor: str | None = None
    with dagster_runner.open_instance(dagster_runner.dagster_home(settings)) as instance:
        while True:
            context = dg.build_sensor_context(
                instance=instance,
                cursor=cursor,
                repository_def=repository,
                sensor_name=sensor.name,
                resources=resources,
            )
            tick = sensor.evaluate_tick(context)
            cursor = tick.cursor
            if not tick.run_requests:
                return runs
            for request in tick.run_requests:
                job = defs.resolve_job_def(request.job_name or sensor.job_name)
                outcome = job.execute_in_process(
                    run_config={**QUIET, **request.run_config},
                    instance=instance,
                    tags={**request.tags, "dagster/run_key": request.run_key or ""},
                    raise_on_error=False,
                )
                runs += 1
                if not outcome.success:
                    print(f"   persistence run {request.run_key} failed", file=sys.stderr)
                    return runs


def _maintain(settings: KisSettings) -> None:
    """The code location's `warehouse_maintenance_job`, as its schedule runs it."""
    from kis_pipeline.definitions import defs

    job = defs.resolve_job_def("warehouse_maintenance_job")
    with dagster_runner.open_instance(dagster_runner.dagster_home(settings)) as instance:
        job.execute_in_process(run_config=QUIET, instance=instance)


def _show_tables(settings: KisSettings) -> None:
    from kis_pipeline.warehouse.maintenance import file_counts

    wh = open_warehouse(settings)
    files = file_counts(wh)
    tables = wh.tables()
    width = max((len(t) for t in tables), default=0)
    with connect(wh) as con:
        for table in tables:
            found = con.execute(f'select count(*) from "{table}"').fetchone()
            count = found[0] if found else 0
            print(f"   {table:{width}} {count:>10,} rows  {files.get(table, 0):>4} files")
    print(f"   (lake snapshot {wh.snapshot()}: `kis-pipeline sql --snapshot N` reads an older one)")


def _show_queries(settings: KisSettings) -> None:
    with (
        connect(open_warehouse(settings)) as con,
        pl.Config(tbl_hide_dataframe_shape=True, tbl_width_chars=110, fmt_str_lengths=20),
    ):
        for title, query in QUERIES:
            print(f"\n-- {title}")
            try:
                print(con.sql(query).pl())
            except Exception as exc:  # a table the run could not fill: say so, keep going
                print(f"   (not available: {str(exc).splitlines()[0]})")


def run_demo() -> int:
    from kis_pipeline.streaming.runner import StreamOptions, stream

    with backend() as settings:
        print(
            f"kis-pipeline demo: KIS backend {settings.env} at {settings.rest_url}, "
            f"warehouse {settings.warehouse.resolve()}, rate limit {settings.rate_limit:g}/s"
        )
        end = _last_session(settings)
        start = end - dt.timedelta(days=int(SESSIONS * 7 / 5) + 4)
        ok = _step(
            f"Backfill {start} .. {end} (about {SESSIONS} sessions), every batch asset",
            lambda: _backfill(settings, start, end, BATCH_ASSETS),
        )
        ok &= _step(
            f"Backfill {SPLIT_SYMBOL} around its 2018 split (raw and adjusted)",
            lambda: _backfill(settings, *SPLIT_RANGE, SPLIT_ASSETS, (SPLIT_SYMBOL,)),
        )
        first, last = SURVIVORSHIP_RANGE
        ok &= _step(
            f"Backfill {first} .. {last} on that day's universe: listings (the KSD IPOs since "
            "2015, delisting dates from KIS), then daily prices, delisted names included",
            lambda: _backfill(settings, first, last, "listings,daily_prices"),
        )
        ok &= _step(
            "Corporate actions and adjustment factors from the warehouse: the chart's flags and "
            "the KSD schedules since 2015 (bonus and rights issues, capital reductions, mergers; "
            "12 calls a year each)",
            lambda: _backfill(settings, start, end, "corporate_actions,adj_factors"),
        )
        condition = settings.condition
        if settings.env == "sim" and condition is None:
            condition = SIM_CONDITION  # the simulator's saved screen, as if KIS_CONDITION named it
        if condition is not None:
            ok &= _step(
                f"What the saved condition {condition!r} matches (KIS_CONDITION)",
                lambda: _with_env("KIS_CONDITION", condition, settings, "condition_results"),
            )
        ok &= _step(
            f"Intraday bars of {end}: one-minute bars of the day's most traded names (4 calls "
            "per name), ten-minute bars of the main indices (1 call each)",
            lambda: _backfill(settings, end, end, "minute_bars,index_minute_bars"),
        )
        overseas = ",".join(f"{e}:{t}" for e, t in settings.overseas_minute_symbols)
        if not overseas and settings.env == "sim":
            overseas = SIM_OVERSEAS  # as if KIS_OVERSEAS_MINUTE_SYMBOLS named them
        if overseas:
            ok &= _step(
                f"One-minute bars of {overseas}'s newest session (KIS_OVERSEAS_MINUTE_SYMBOLS)",
                lambda: _with_env(
                    "KIS_OVERSEAS_MINUTE_SYMBOLS", overseas, settings, "overseas_minute_bars"
                ),
            )
        ok &= _step(
            "Statements, stock info and analyst coverage of the universe (their scheduled runs)",
            lambda: _weekly(settings),
        )
        ok &= _step(
            f"Market cap and valuation of {start} .. {end} from the warehouse (no call)",
            lambda: _backfill(settings, start, end, "market_daily"),
        )
        ok &= _step(
            f"KOSPI200 futures and at-the-money options of {end} (12 calls: two futures, then "
            "five strikes of calls and puts)",
            lambda: _backfill(settings, end, end, "futures_options_daily"),
        )
        bonds = ",".join(settings.bond_symbols)
        if not bonds and settings.env == "sim":
            bonds = SIM_BONDS  # as if KIS_BOND_SYMBOLS named them
        if bonds:
            ok &= _step(
                f"Bars of the bonds {bonds} on {end} (one call each, KIS_BOND_SYMBOLS)",
                lambda: _with_env(
                    "KIS_BOND_SYMBOLS",
                    bonds,
                    settings,
                    "bond_prices",
                    lambda: _backfill(settings, end, end, "bond_prices"),
                ),
            )
            ok &= _step(
                f"The terms of the bonds {bonds} (bond_info, one call each)",
                lambda: _with_env("KIS_BOND_SYMBOLS", bonds, settings, "bond_info"),
            )
        elws = ",".join(settings.elw_symbols)
        if not elws and settings.env == "sim":
            elws = SIM_ELWS  # as if KIS_ELW_SYMBOLS named them
        if elws:
            ok &= _step(
                f"ELWs {elws}, {start} .. {end}: daily bars, volatilities and Greeks (one call "
                "each per table; KIS answers the newest sessions, no date, KIS_ELW_SYMBOLS)",
                lambda: _with_env(
                    "KIS_ELW_SYMBOLS",
                    elws,
                    settings,
                    "elw_prices",
                    lambda: _backfill(settings, start, end, "elw_prices,elw_greeks"),
                ),
            )
        ok &= _step(
            f"ETFs against their NAV, {start} .. {end}: {','.join(settings.etf_symbols)} (one "
            "call each for up to 100 sessions, KIS_ETF_SYMBOLS)",
            lambda: _backfill(settings, start, end, "etf_nav"),
        )
        ok &= _step("Today's headlines (news_titles)", lambda: _weekly(settings, ("news_titles",)))
        ok &= _step(
            "KIS's ranking screens of the session: valuation, ratios, profits, resting "
            "quantities, dividends, short sales, credit, new highs and lows, block trades, "
            "watchlists, the closing auction (one call per ordering)",
            lambda: _weekly(settings, SNAPSHOT_LISTS),
        )
        # The days of the range with 20 sessions of prices before them: no price is added.
        history = start + dt.timedelta(days=31)
        ok &= _step(
            f"Execution strength and disparity screens, {history} .. {end}: the session's from "
            "KIS, the earlier days derived from the warehouse (no call)",
            lambda: _backfill(settings, history, end, ",".join(DERIVED_LISTS)),
        )
        if settings.env == "sim":
            ok &= _step(
                f"Stock info of the delisted {', '.join(DELISTED)} (KIS still describes them)",
                lambda: _weekly(settings, ("stock_info",), {SYMBOLS_TAG: ",".join(DELISTED)}),
            )
        outcome = _step(
            f"Stream ticks for {STREAM_SECONDS:.0f} s (top of the volume ranking): trades, "
            "quotes, program trading and market status, and the delayed trades of "
            + ", ".join(f"{excd}:{ticker}" for excd, ticker in STREAM_OVERSEAS),
            lambda: stream(
                settings,
                StreamOptions(
                    duration_s=STREAM_SECONDS,
                    progress_s=10.0,
                    trs=STREAM_TRS,
                    overseas=STREAM_OVERSEAS,
                ),
            ),
        )
        runs = _step(
            "Persist the sealed segments: tick_segments_sensor -> one run per batch",
            lambda: _persist_with_sensor(settings),
        )
        print(f"   {runs} persistence run(s); {outcome.summary.frames:,} frames received")
        _step(
            "Maintain the lake: merge small files, expire old snapshots",
            lambda: _maintain(settings),
        )
    print("\n== Warehouse")
    _show_tables(settings)
    _show_queries(settings)
    print(
        "\nNext:\n"
        "  kis-pipeline sql \"select * from daily_prices where symbol = '005930' order by date\"\n"
        "  make dev                      # the Dagster UI on this warehouse\n"
        "  jupyter lab notebooks/research.ipynb   # plots (pip install -e '.[notebook]')\n"
        "  kis-pipeline backfill --from 2024-01-02 --to 2024-12-30 --missing\n"
        "  KIS_ENV=real KIS_APP_KEY=... KIS_APP_SECRET=... kis-pipeline backfill ...  # real KIS"
    )
    return 0 if ok else 1
