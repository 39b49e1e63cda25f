"""Backfill overhead benchmark: every batch asset for a few symbols, from an empty warehouse.

Runs `kis-pipeline backfill` (every date-partitioned batch asset, `--symbols` the first N of
the simulator's universe) in this process against a simulator in a process of its own, with a
fresh warehouse and Dagster instance, then reports how far the command is from the pace the
API limit alone would set:

    wall time / (calls / KIS_RATE_LIMIT)        1.0 = paced by the limiter alone; target <= 1.5

and where the rest of the time went: per Dagster run, its wall time against the time its calls
need at the limit, split into the run's own overhead (creating the run and its planned events,
building the job, starting and ending it; from the instance's event log) and the time inside
its steps (the assets' work, calls included); and the time outside runs (validation, the
simulator check, planning, the summary). With `--missing` a second pass reruns the same
command with `--missing` and reports its calls (target 0) and time.

    .venv/bin/python bench/backfill_overhead.py --symbols 5    # 2024-02-01..2024-11-29
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import dagster as dg
import psutil
from backfill_rate import simulated

from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market import Market

RESULTS = Path(__file__).parent / "results"
warnings.filterwarnings("ignore", category=dg.BetaWarning)
STEP_EVENTS = {
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
}


def run_timings(instance: dg.DagsterInstance) -> dict[str, dict[str, float]]:
    """Per Dagster run id: its span in the event log and the time inside its steps."""
    out = {}
    for run in instance.get_runs():
        records = instance.all_logs(run.run_id)
        stamps = [r.timestamp for r in records]
        steps: dict[str, list[float]] = {}
        for record in records:
            if record.dagster_event and record.dagster_event.event_type in STEP_EVENTS:
                steps.setdefault(record.dagster_event.step_key or "", []).append(record.timestamp)
        out[run.run_id] = {
            "logged_s": max(stamps) - min(stamps) if stamps else 0.0,
            "steps_s": sum(max(t) - min(t) for t in steps.values()),
        }
    return out


def backfill(
    start: dt.date,
    end: dt.date,
    symbols: list[str],
    *,
    missing: bool,
    assets: tuple[str, ...] = (),
) -> tuple[Any, float, float]:
    """One `kis-pipeline backfill` in this process: (summary, wall seconds, CPU seconds)."""
    from kis_pipeline.cli.backfill import run_backfill
    from kis_pipeline.cli.backfill_plan import BackfillRequest

    process = psutil.Process()
    cpu0 = sum(process.cpu_times()[:2])
    wall0 = time.monotonic()
    summary = run_backfill(
        BackfillRequest(start, end, assets=assets, symbols=tuple(symbols), missing=missing),
        stream=io.StringIO(),
        out=io.StringIO(),
    )
    return summary, time.monotonic() - wall0, sum(process.cpu_times()[:2]) - cpu0


def calls_of(outcome: Any) -> int:
    return sum(int(state.get("calls", 0)) for state in outcome.assets.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=5, help="first N of the universe")
    parser.add_argument("--from", dest="start", type=dt.date.fromisoformat, default="2024-02-01")
    parser.add_argument("--to", dest="end", type=dt.date.fromisoformat, default="2024-11-29")
    parser.add_argument("--rate-limit", type=float, default=17.0, help="client KIS_RATE_LIMIT")
    parser.add_argument("--sim-limit", type=float, default=18.0, help="simulator's allowed rate")
    parser.add_argument("--missing", action="store_true", help="then rerun with --missing")
    parser.add_argument(
        "--assets", default="", help="comma-separated asset names (default: every batch asset)"
    )
    args = parser.parse_args()

    config = SimConfig(rate_limit=args.sim_limit)
    symbols = [x.symbol for x in Market(config).listings[: args.symbols]]
    with simulated(config, args.rate_limit) as (_, stats):
        assets = tuple(a.strip() for a in args.assets.split(",") if a.strip())
        summary, wall, cpu = backfill(args.start, args.end, symbols, missing=False, assets=assets)
        from kis_pipeline.cli import dagster_runner as runner
        from kis_pipeline.kis.settings import KisSettings

        home = runner.dagster_home(KisSettings.from_env())
        with runner.open_instance(home) as instance:
            timings = run_timings(instance)
        rerun = (
            backfill(args.start, args.end, symbols, missing=True, assets=assets)
            if args.missing
            else None
        )

    executed = [o for o in summary.runs if not o.skipped]
    # Outcomes from before `run_id` and `started` existed still give the totals ("before"
    # figures in bench/README.md, with PYTHONPATH pointing at an older checkout).
    first = getattr(executed[0], "started", 0.0) if executed else 0.0
    runs = []
    for outcome in executed:
        calls = calls_of(outcome)
        steps = timings.get(getattr(outcome, "run_id", ""), {}).get("steps_s", 0.0)
        runs.append(
            {
                "run": outcome.run.describe(),
                "ok": outcome.success,
                "start_s": round(getattr(outcome, "started", 0.0) - first, 2),
                "seconds": round(outcome.seconds, 2),
                "calls": calls,
                "calls_at_limit_s": round(calls / args.rate_limit, 2),
                "in_steps_s": round(steps, 2),
                "run_overhead_s": round(outcome.seconds - steps, 2),
            }
        )
    calls = sum(r["calls"] for r in runs)
    paced = calls / args.rate_limit
    in_runs = sum(o.seconds for o in executed)
    report: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "range": f"{args.start}..{args.end}",
        "symbols": symbols,
        "runs_ok": summary.ok,
        "runs": len(executed),
        "calls": calls,
        "simulator_served": sum(k["served"] for k in stats["rest"].values()),
        "simulator_rejected": sum(k["rejected"] for k in stats["rest"].values()),
        "kis_rate_limit": args.rate_limit,
        "calls_at_limit_s": round(paced, 2),
        "command_s": round(wall, 2),
        "wall_over_paced": round(wall / paced, 3) if paced else None,
        "in_runs_s": round(in_runs, 2),
        "outside_runs_s": round(wall - in_runs, 2),
        "in_steps_s": round(sum(r["in_steps_s"] for r in runs), 2),
        "run_overhead_s": round(sum(r["run_overhead_s"] for r in runs), 2),
        "cpu_s": round(cpu, 2),
        "per_run": runs,
    }
    if rerun is not None:
        again, again_wall, _ = rerun
        report["missing_rerun"] = {
            "ok": again.ok,
            "runs": len(again.runs),
            "calls": sum(calls_of(o) for o in again.runs),
            "command_s": round(again_wall, 2),
        }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"backfill_overhead_{args.symbols}.json").write_text(json.dumps(report, indent=2))
    for name, value in report.items():
        if name != "per_run":
            print(f"{name:20} {value}")
    print(
        f"{'start':>6} {'seconds':>7} {'calls':>5} {'at limit':>8} {'in steps':>8} "
        f"{'run ovh':>7}  run"
    )
    for r in runs:
        print(
            f"{r['start_s']:6.2f} {r['seconds']:7.2f} {r['calls']:5d} {r['calls_at_limit_s']:8.2f} "
            f"{r['in_steps_s']:8.2f} {r['run_overhead_s']:7.2f}  {r['run']}"
        )
    ok = report["wall_over_paced"] is not None and report["wall_over_paced"] <= 1.5
    print("PASS" if ok and summary.ok else "BELOW TARGET", file=sys.stderr)
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
