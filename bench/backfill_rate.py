"""Backfill benchmark: one year of `daily_prices` for a universe, through Dagster.

The simulator (allowing 18 requests/s per app key, like KIS) runs in a process of its own, so
the figures are the pipeline's: the backfill runs in this process exactly as
`kis-pipeline backfill --assets daily_prices` does (planning, one single-run Dagster run, the
shared limiter, partitions written one per day). The reference tables (`trading_calendar`,
`symbols`) are seeded from the same synthetic market first, so that only price calls count.

Reports: calls made / planned minimum (S x ceil(D / 100); target 1.0), achieved rate /
KIS_RATE_LIMIT while the asset fetched (target >= 0.95), requests the simulator rejected,
retries, local CPU per call, rows and partitions written.

    .venv/bin/python bench/backfill_rate.py --universe 300 [--from 2025-11-21 --to 2026-11-20]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import math
import multiprocessing as mp
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import psutil

from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market import Market
from kis_pipeline.warehouse import TABLES, Warehouse

RESULTS = Path(__file__).parent / "results"
warnings.filterwarnings("ignore", category=dg.BetaWarning)


def serve(config: SimConfig, pipe: mp.connection.Connection) -> None:  # type: ignore[name-defined]
    from kis_pipeline.simulator.server import SimulatorServer

    with SimulatorServer(config) as server:
        pipe.send((server.rest_url, server.ws_url))
        pipe.recv()  # wait for "stop"
        pipe.send(server.stats())


@contextlib.contextmanager
def simulated(config: SimConfig, rate_limit: float) -> Iterator[tuple[Path, dict[str, Any]]]:
    """A simulator in a process of its own, and a fresh directory; the environment points a
    backfill in this process at both (`KIS_WAREHOUSE` is `<dir>/wh`). Yields the directory and
    a dict that holds the simulator's stats once the block ends."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    sim = ctx.Process(target=serve, args=(config, child), daemon=True)
    sim.start()
    rest_url, ws_url = parent.recv()
    stats: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ.update(
                {
                    "KIS_ENV": "sim",
                    "KIS_REST_URL": rest_url,
                    "KIS_WS_URL": ws_url,
                    "KIS_RATE_LIMIT": str(rate_limit),
                    "KIS_STATE_DIR": str(Path(tmp) / "state"),
                    "KIS_WAREHOUSE": str(Path(tmp) / "wh"),
                }
            )
            for name in ("KIS_SYMBOLS", "DAGSTER_HOME", "KIS_MASTER_URL"):
                os.environ.pop(name, None)
            yield Path(tmp), stats
            parent.send("stop")
            stats.update(parent.recv())
    finally:
        sim.join(timeout=30)


def seed(wh: Warehouse, market: Market, start: dt.date, end: dt.date) -> None:
    for year in range(start.year, end.year + 1):
        days = pl.date_range(dt.date(year, 1, 1), dt.date(year, 12, 31), eager=True).to_list()
        frame = pl.DataFrame(
            {
                "date": days,
                "is_business_day": [market.is_business_day(d) for d in days],
                "is_trading_day": [market.is_trading_day(d) for d in days],
                "is_market_open": [market.is_trading_day(d) for d in days],
                "is_settlement_day": [market.is_settlement_day(d) for d in days],
                "is_securities_business_day": [market.is_business_day(d) for d in days],
                "source": ["bench-seed"] * len(days),
            },
            schema=TABLES["trading_calendar"].schema,
        )
        wh.write_partition("trading_calendar", str(year), frame)
    day = market.last_completed_session()
    listings = market.listings
    n = len(listings)
    symbols = pl.DataFrame(
        {
            "date": [day] * n,
            "symbol": [x.symbol for x in listings],
            "name": [x.name for x in listings],
            "market": [x.market for x in listings],
            "standard_code": [""] * n,
            "security_group": ["ST"] * n,
            "listed_shares": [x.listed_shares for x in listings],
            "par_value": [x.par_value for x in listings],
            "list_date": [x.list_date for x in listings],
            "market_cap": [None] * n,
            "base_price": [None] * n,
            "sector_large": [x.sector for x in listings],
            "is_halted": [False] * n,
        },
        schema=TABLES["symbols"].schema,
    )
    wh.write_partition("symbols", day.isoformat(), symbols)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--universe", type=int, default=300, help="listed stocks (max 2700)")
    parser.add_argument("--from", dest="start", type=dt.date.fromisoformat)
    parser.add_argument("--to", dest="end", type=dt.date.fromisoformat)
    parser.add_argument("--rate-limit", type=float, default=17.0, help="client KIS_RATE_LIMIT")
    parser.add_argument("--sim-limit", type=float, default=18.0, help="simulator's allowed rate")
    parser.add_argument("--adjusted", action="store_true", help="daily_prices_adjusted too")
    args = parser.parse_args()

    config = SimConfig(universe=args.universe, rate_limit=args.sim_limit)
    market = Market(config)
    end = args.end or market.last_completed_session()
    start = args.start or end - dt.timedelta(days=364)
    trading = market.trading_days(start, end)

    with simulated(config, args.rate_limit) as (tmp, stats):
        os.environ["DAGSTER_HOME"] = str(tmp / "dagster")
        Path(tmp, "dagster").mkdir()
        wh = Warehouse(Path(tmp) / "wh")
        seed(wh, market, start, end)

        from kis_pipeline.cli.backfill import run_backfill
        from kis_pipeline.cli.backfill_plan import BackfillRequest
        from kis_pipeline.defs.prices import defs as prices
        from kis_pipeline.defs.resources import RESOURCES

        defs = dg.Definitions.merge(prices, dg.Definitions(resources=RESOURCES))
        assets = ("daily_prices", "daily_prices_adjusted") if args.adjusted else ("daily_prices",)
        process = psutil.Process()
        cpu0 = sum(process.cpu_times()[:2])
        wall0 = time.monotonic()
        summary_text = io.StringIO()
        summary = run_backfill(
            BackfillRequest(start, end, assets=assets),
            stream=sys.stderr,
            out=summary_text,
            defs=defs,
        )
        wall = time.monotonic() - wall0
        cpu = sum(process.cpu_times()[:2]) - cpu0
        rows = {t: wh.read(t).height for t in assets}
        partitions = {t: len(wh.partitions(t)) for t in assets}

    states = [s for r in summary.runs for s in r.assets.values()]
    calls = sum(int(s.get("calls", 0)) for s in states)
    fetch_s = sum(float(s["finished_at"]) - float(s["started_at"]) for s in states)
    planned_min = len(assets) * args.universe * math.ceil(len(trading) / 100)
    keys = stats["rest"]
    report = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "universe": args.universe,
        "range": f"{start}..{end}",
        "trading_days": len(trading),
        "assets": list(assets),
        "calls_made": calls,
        "calls_planned_minimum": planned_min,
        "made_over_planned": round(calls / planned_min, 4),
        "asset_seconds": round(fetch_s, 1),
        "achieved_rate": round(calls / fetch_s, 3),
        "kis_rate_limit": args.rate_limit,
        "achieved_over_limit": round(calls / fetch_s / args.rate_limit, 4),
        "simulator_served": sum(k["served"] for k in keys.values()),
        "simulator_rejected": sum(k["rejected"] for k in keys.values()),
        "max_in_any_1s_window": max((k["max_in_any_1s_window"] for k in keys.values()), default=0),
        "retries": sum(int(s.get("retries", 0)) for s in states),
        "limiter_wait_s": round(sum(float(s.get("limiter_wait_s", 0)) for s in states), 1),
        "client_cpu_ms_per_call": round(1000 * cpu / max(calls, 1), 2),
        "command_seconds": round(wall, 1),
        "rows": rows,
        "partitions": partitions,
        "runs_ok": summary.ok,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"backfill_rate_{args.universe}.json").write_text(json.dumps(report, indent=2))
    for name, value in report.items():
        print(f"{name:24} {value}")
    ok = report["achieved_over_limit"] >= 0.95 and report["made_over_planned"] <= 1.0
    print("PASS" if ok and summary.ok else "BELOW TARGET", file=sys.stderr)
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
