"""`kis-pipeline demo`: a tour of the pipeline on the embedded simulator.

Today it exercises the foundation end to end — master files, calendar, daily charts raw and
adjusted across a split, the multi-symbol quote, rankings, investor flows, fundamentals — and
reports the calls made against the rate limit. The batch warehouse and tick streaming steps
say "not yet" until they exist.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import TypeVar

import polars as pl

from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints import (
    calendar,
    flows,
    fundamentals,
    index,
    master,
    prices,
    quotes,
    rankings,
)
from kis_pipeline.runtime import backend

T = TypeVar("T")
SPLIT_SYMBOL = "005930"  # the simulator splits it 1:50 on 2018-05-04, as KRX did
SPLIT_DAY = dt.date(2018, 5, 4)


def _step(title: str, work: Callable[[], T]) -> T:
    print(f"\n== {title}", flush=True)
    started = time.perf_counter()
    result = work()
    print(f"   ({time.perf_counter() - started:.1f} s)")
    return result


def _show(frame: pl.DataFrame, columns: list[str], rows: int = 5) -> None:
    with pl.Config(
        tbl_rows=rows,
        tbl_hide_dataframe_shape=True,
        fmt_str_lengths=20,
        tbl_width_chars=110,
        thousands_separator=True,
    ):
        print(frame.select(columns).head(rows))


def run_demo() -> int:
    with backend() as settings, KisClient(settings) as client:
        print(
            f"KIS backend: {settings.env} at {settings.rest_url} "
            f"(rate limit {settings.rate_limit:g} requests/s per app key)"
        )
        started = time.perf_counter()
        universe = _step(
            "Universe from the stock master files", lambda: master.fetch_universe(client)
        )
        counts = universe.group_by("market").len().sort("market")
        print("   " + ", ".join(f"{m}: {n}" for m, n in counts.iter_rows()))
        symbols = universe["symbol"].to_list()

        cal = _step(
            "Trading calendar ahead (chk-holiday, one call)",
            lambda: calendar.fetch_trading_calendar(client, dt.date.today()),
        )
        _show(cal, ["date", "is_business_day", "is_trading_day", "is_market_open"], rows=7)

        kospi = _step(
            "KOSPI index, last 60 sessions",
            lambda: index.fetch_index_daily(
                client, "0001", dt.date.today() - dt.timedelta(days=90), dt.date.today()
            ),
        )
        session = kospi["date"].max()
        print(f"   last completed session: {session}; {kospi.height} index bars")

        def split_charts() -> pl.DataFrame:
            lo, hi = SPLIT_DAY - dt.timedelta(days=7), SPLIT_DAY + dt.timedelta(days=7)
            raw = prices.fetch_daily_chart(client, SPLIT_SYMBOL, lo, hi, adjusted=False)
            adj = prices.fetch_daily_chart(
                client, SPLIT_SYMBOL, lo, hi, adjusted=True, original=raw
            )
            return raw.select("date", pl.col("close").alias("raw_close")).join(
                adj.select("date", pl.col("close").alias("adjusted_close"), "adj_factor"), on="date"
            )

        split = _step(
            f"{SPLIT_SYMBOL} around its 1:50 split on {SPLIT_DAY} (raw vs adjusted)", split_charts
        )
        _show(split, ["date", "raw_close", "adjusted_close", "adj_factor"], rows=10)

        quote = _step(
            f"Multi-symbol quote: {len(symbols)} symbols in ceil(n/30) calls",
            lambda: quotes.fetch_multi_quote(client, symbols),
        )
        print(f"   {quote.height} quotes, {quote.filter(~pl.col('found')).height} unknown")

        top = _step(
            f"Volume ranking for {session}", lambda: rankings.fetch_volume_ranking(client, session)
        )
        _show(top, ["rank", "symbol", "name", "price", "volume"])

        flow = _step(
            f"Investor flows for {SPLIT_SYMBOL}, last 5 sessions",
            lambda: flows.fetch_investor_flows(
                client, SPLIT_SYMBOL, session - dt.timedelta(days=7), session
            ),
        )
        _show(
            flow, ["date", "individual_net_volume", "foreign_net_volume", "institution_net_volume"]
        )

        bs = _step(
            f"Balance sheet of {SPLIT_SYMBOL} (annual)",
            lambda: fundamentals.fetch_balance_sheet(client, SPLIT_SYMBOL),
        )
        print(f"   {bs.height} annual periods, newest {bs['period'].max()}")

        elapsed = time.perf_counter() - started
        stats = client.stats.snapshot()
        print("\n== Calls")
        print(
            f"   {stats['calls']} REST calls in {elapsed:.1f} s, {stats['retries']} retries, "
            f"{stats['limiter_wait_s']:.1f} s waiting on the shared limiter "
            f"(limit {settings.rate_limit:g}/s; this tour is latency-bound, not limit-bound)"
        )
    print(
        "\nNot yet: the Dagster batch warehouse (`kis-pipeline backfill`, `sql`, `make dev`)"
        " and the\ntick collector (`kis-pipeline stream`) are still being built."
    )
    print("Next: `make test`, or `kis-pipeline sim` to serve the simulator for your own scripts.")
    return 0
