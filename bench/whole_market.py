"""Whole-market nightly refresh on the simulator: the newest session of every symbol, on one
worker and on several.

The simulator (a universe of `--universe` symbols, 2,700 by default, about the KRX's size;
allowing 18 requests/s per app key, like KIS) runs in a process of its own. The warehouse is
seeded with the calendar and the newest symbols snapshot, then the nightly refresh of the
newest session runs once per mode, each on a fresh warehouse, simulator and app key:

- `in-process`: `kis-pipeline backfill --from D --to D --assets ...` in this process, its runs
  executed here, the limiter and token in local files;
- `celery:N`: the same range with `--submit`, run by a `dagster-daemon` and N `dagster-celery`
  workers (steps as tasks, one at a time per worker) on the team profile: Dagster's storage on
  PostgreSQL, the limiter, token and queue on Redis. Needs the servers `.ci/services start`
  starts (`KIS_TEST_PG_DSN`, `KIS_TEST_REDIS_URL`).

Reports per mode: the calls the simulator served, rejected (EGW00201) and the most in any
second; the wall time of the command (for `celery:N`, from the submission on: the daemon and
the workers were already up); and wall / (calls / limit), where
1.0 means the rate limit alone set the pace. The in-process mode also gives the calls per asset
against the plan each asset announced.

    eval "$(.ci/services start /tmp/svc)"
    .venv/bin/python bench/whole_market.py --modes in-process,celery:1,celery:4
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import shutil
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dagster as dg
from backfill_rate import seed, simulated

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test helpers that start a daemon and celery workers

from kis_pipeline.cli.backfill import run_backfill  # noqa: E402
from kis_pipeline.cli.backfill_plan import BackfillRequest  # noqa: E402
from kis_pipeline.cli.main import main as cli  # noqa: E402
from kis_pipeline.simulator.config import SimConfig  # noqa: E402
from kis_pipeline.simulator.market import Market  # noqa: E402
from kis_pipeline.warehouse import Warehouse  # noqa: E402
from tests.helpers.celery_worker import broker_config, running_worker  # noqa: E402
from tests.helpers.daemon import running_daemon  # noqa: E402

RESULTS = Path(__file__).parent / "results"
PROFILE = ROOT / "docs" / "deploy" / "dagster.yaml"
warnings.filterwarnings("ignore", category=dg.BetaWarning)
# The nightly families of DESIGN's call plan: prices of the whole market from the multi-quote,
# the adjusted series of the symbols with an event, per-stock and market investor flows,
# rankings and the indices.
CORE = (
    "daily_prices",
    "daily_prices_adjusted",
    "investor_flows",
    "market_investor_flows",
    "rankings",
    "index_daily",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--universe", type=int, default=2700)
    parser.add_argument("--modes", default="in-process,celery:1,celery:4")
    parser.add_argument("--assets", default=",".join(CORE))
    parser.add_argument("--rate-limit", type=float, default=17.0, help="client KIS_RATE_LIMIT")
    parser.add_argument("--sim-limit", type=float, default=18.0, help="simulator's allowed rate")
    args = parser.parse_args()
    config = SimConfig(universe=args.universe, rate_limit=args.sim_limit)
    day = Market(config).last_completed_session()
    results = []
    for mode in args.modes.split(","):
        result = run_mode(mode, config, day, args.assets, args.rate_limit)
        print(json.dumps(result), flush=True)
        results.append(result)
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"whole_market-{stamp}.json").write_text(json.dumps(results, indent=2))
    return 0


def run_mode(
    mode: str, config: SimConfig, day: dt.date, assets: str, rate_limit: float
) -> dict[str, Any]:
    with simulated(config, rate_limit) as (tmp, stats):
        seed(Warehouse(tmp / "wh"), Market(config), day, day)
        # A fresh app key per mode: the simulator's counters are per key.
        os.environ["KIS_APP_KEY"] = f"PSBENCH{uuid.uuid4().hex[:20]}"
        os.environ["KIS_APP_SECRET"] = f"BENCHSECRET{uuid.uuid4().hex}"
        if mode == "in-process":
            started = time.monotonic()
            per_asset = in_process(day, assets)
            wall = time.monotonic() - started
        else:
            per_asset = {}
            wall = submitted(tmp, day, assets, workers=int(mode.split(":", 1)[1]))
    rest = stats["rest"].get(os.environ["KIS_APP_KEY"], {})
    calls = int(rest.get("served", 0))
    return {
        "mode": mode,
        "universe": config.universe,
        "session": day.isoformat(),
        "assets": assets,
        "calls": calls,
        "rejected": rest.get("rejected", 0),
        "max_in_any_1s_window": rest.get("max_in_any_1s_window", 0),
        "tokens_issued": stats["tokens_issued"].get(os.environ["KIS_APP_KEY"], 0),
        "wall_s": round(wall, 1),
        "calls_at_limit_s": round(calls / rate_limit, 1),
        "wall_over_calls_at_limit": round(wall / (calls / rate_limit), 3) if calls else None,
        "per_asset": per_asset,
    }


def in_process(day: dt.date, assets: str) -> dict[str, dict[str, int]]:
    request = BackfillRequest(start=day, end=day, assets=tuple(assets.split(",")))
    summary = run_backfill(request, stream=io.StringIO(), out=io.StringIO())
    if not summary.ok:
        raise SystemExit(f"the in-process refresh failed: {summary.runs}")
    per_asset: dict[str, dict[str, int]] = {}
    for outcome in summary.runs:
        for name, state in outcome.assets.items():
            entry = per_asset.setdefault(name, {"calls": 0, "planned": 0})
            entry["calls"] += int(state.get("calls", 0))
            entry["planned"] += int(state.get("calls_planned", 0))
    return per_asset


def submitted(tmp: Path, day: dt.date, assets: str, *, workers: int) -> float:
    """The team profile on this machine: a daemon, `workers` celery workers, a submission;
    the seconds from the submission to the backfill's end (the servers were up before)."""
    with team_servers(tmp) as environ:
        os.environ.update(environ)
        config = broker_config(tmp / "celery.yaml", environ["KIS_CELERY_BROKER"])
        with ExitStack() as hosts:
            for i in range(workers):
                log = tmp / f"worker-{i}.log"
                hosts.enter_context(running_worker(config, {}, log))
            hosts.enter_context(running_daemon({}, tmp / "daemon.log"))
            started = time.monotonic()
            code = cli(
                ["backfill", "--from", str(day), "--to", str(day), "--assets", assets, "--submit"]
            )
            wall = time.monotonic() - started
        if code != 0:
            raise SystemExit(f"the submitted refresh failed ({code}); see {tmp}/daemon.log")
        return wall


@contextlib.contextmanager
def team_servers(tmp: Path) -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database and two emptied Redis databases, as variables."""
    import psycopg
    import redis
    from psycopg import conninfo, sql

    base_dsn, base_redis = os.environ.get("KIS_TEST_PG_DSN"), os.environ.get("KIS_TEST_REDIS_URL")
    if not base_dsn or not base_redis:
        raise SystemExit('celery modes need the servers: eval "$(.ci/services start DIR)"')
    name = f"kis_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = conninfo.conninfo_to_dict(conninfo.make_conninfo(base_dsn, dbname=name))
    pg_url = (
        f"postgresql+psycopg2://{parts.get('user', 'postgres')}@{parts.get('host', '127.0.0.1')}"
        f":{parts.get('port', 5432)}/{name}"
    )
    state, broker = (urlsplit(base_redis)._replace(path=f"/{db}").geturl() for db in (13, 14))
    for url in (state, broker):
        redis.Redis.from_url(url).flushdb()
    home = tmp / "dagster"
    home.mkdir()
    shutil.copyfile(PROFILE, home / "dagster.yaml")
    try:
        yield {
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_URL": pg_url,
            "KIS_STATE_URL": state,
            "KIS_EXECUTOR": "celery",
            "KIS_CELERY_BROKER": broker,
            "KIS_WAREHOUSE": str((tmp / "wh").resolve()),
        }
    finally:
        for variable in (
            "DAGSTER_HOME",
            "DAGSTER_PG_URL",
            "KIS_STATE_URL",
            "KIS_EXECUTOR",
            "KIS_CELERY_BROKER",
        ):
            os.environ.pop(variable, None)
        with psycopg.connect(base_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    raise SystemExit(main())
