"""Streaming end to end: simulator -> collector -> sealed segments -> warehouse -> DuckDB.

For each tick rate, three processes run as in production: the simulator (`kis-pipeline sim`),
the collector (`kis-pipeline stream`, 41 registrations: the 20 symbols at the top
of the volume ranking x trades + order book, plus one), and a persistence worker that promotes
each sealed segment as soon as it appears with the same `promote_segment` a Dagster run calls
(a run per segment adds Dagster's launch overhead on top; see README). After `--duration`
seconds the collector stops cleanly (releases its registrations, seals, exits) and the worker
drains the spool. Reported per rate:

- sent: records the simulator wrote to the socket (its own counter, the truth);
- stored: rows in trade_ticks + orderbook_ticks through the DuckDB catalog; lost = sent - stored;
- sessions: WebSocket sessions (1 = no drop; the simulator drops a client > 10 s behind);
- latency p50/p99: per tick, from its receive time to the moment the catalog that lists its
  file was in place (queryable in DuckDB);
- collector peak RSS and CPU.

    .venv/bin/python bench/stream_e2e.py [--rates 1000,10000,50000,100000] [--duration 20]
        [--seal-interval 1.0]
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"


# --- persistence worker (a separate process) -----------------------------------------------


def promoter(warehouse_root: Path, out: Path) -> None:
    import kis_pipeline.streaming.tables  # noqa: F401  (registers the tick tables)
    from kis_pipeline.streaming.promote import promote_segment
    from kis_pipeline.streaming.spool import CONTROL, Spool, read_segment
    from kis_pipeline.warehouse import Warehouse

    warehouse = Warehouse(warehouse_root)
    spool = Spool.for_warehouse(warehouse_root)
    stop = False

    def on_term(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    with out.open("w") as log:
        while not stop:
            waiting = spool.sealed_ids()
            for segment_id in waiting:
                records = read_segment(spool.sealed_dir / f"{segment_id}.seg")
                stamps = []
                for kind, ns, payload in zip(
                    records.kinds, records.received_ns, records.payloads, strict=True
                ):
                    if kind != CONTROL:
                        stamps.append((ns, int(payload.split(b"|", 3)[2])))
                result = promote_segment(warehouse, spool, segment_id)
                queryable = time.time_ns()
                latencies = [((queryable - ns) / 1e6, n) for ns, n in stamps]
                log.write(
                    json.dumps(
                        {
                            "segment": segment_id,
                            "records": result.records,
                            "backlog": len(waiting),
                            "seconds": result.seconds,
                            "latencies": latencies,
                        }
                    )
                    + "\n"
                )
                log.flush()
            time.sleep(0.02)


# --- driver ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_simulator(rate: float) -> tuple[subprocess.Popen[str], str, str]:
    rest, ws = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kis_pipeline.cli",
            "sim",
            "--rest-port",
            str(rest),
            "--ws-port",
            str(ws),
            "--tick-rate",
            str(rate),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("KIS simulator WebSocket"):
            break
    return process, f"http://127.0.0.1:{rest}", f"ws://127.0.0.1:{ws}"


def sim_stats(rest_url: str) -> dict[str, Any]:
    import httpx

    return httpx.get(f"{rest_url}/sim/stats", timeout=10).json()


def quantile(pairs: list[tuple[float, int]], q: float) -> float:
    pairs = sorted(pairs)
    cumulative = []
    total = 0
    for _, n in pairs:
        total += n
        cumulative.append(total)
    return pairs[bisect.bisect_left(cumulative, q * total)][0]


def run_rate(
    rate: float, duration: float, seal_interval: float, keep: Path | None = None
) -> dict[str, Any]:
    sim, rest_url, ws_url = start_simulator(rate)
    with tempfile.TemporaryDirectory() as tmp:
        if keep is not None:
            tmp = str(keep / f"rate-{int(rate)}")
            Path(tmp).mkdir(parents=True, exist_ok=True)
        root = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KIS_")}
        env.update(
            {
                "KIS_ENV": "sim",
                "KIS_REST_URL": rest_url,
                "KIS_WS_URL": ws_url,
                "KIS_WAREHOUSE": str(root / "warehouse"),
                "KIS_STATE_DIR": str(root / "state"),
            }
        )
        latency_log = root / "latency.jsonl"
        worker = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--role",
                "promoter",
                "--warehouse",
                str(root / "warehouse"),
                "--out",
                str(latency_log),
            ],
            env=env,
            cwd=REPO,
        )
        started = time.time()
        collector = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kis_pipeline.cli",
                "stream",
                "--duration",
                str(duration),
                "--seal-interval",
                str(seal_interval),
            ],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        proc = psutil.Process(collector.pid)
        peak_rss = 0
        cpu = 0.0
        while collector.poll() is None:
            try:
                peak_rss = max(peak_rss, proc.memory_info().rss)
                times = proc.cpu_times()
                cpu = times.user + times.system
            except psutil.Error:
                pass
            time.sleep(0.1)
        output = collector.stdout.read() if collector.stdout else ""
        elapsed = time.time() - started
        stats = sim_stats(rest_url)
        spool_sealed = root / "warehouse" / "spool" / "sealed"
        deadline = time.time() + 300
        while any(spool_sealed.glob("*.seg")) and time.time() < deadline:
            time.sleep(0.2)
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
        sim.send_signal(signal.SIGTERM)
        sim.wait(30)
        from kis_pipeline.warehouse import Warehouse, connect

        con = connect(Warehouse(root / "warehouse"))
        stored = sum(
            con.execute(f"select count(*) from {t}").fetchone()[0]  # type: ignore[index]
            for t in ("trade_ticks", "orderbook_ticks")
        )
        sessions = con.execute("select count(*), max(reason) from stream_sessions").fetchone()
        # Per symbol every trade adds its volume to cum_volume: a repeated value is a tick
        # stored twice.
        (doubled,) = con.execute(
            "select count(*) - count(distinct (symbol, cum_volume)) from trade_ticks"
        ).fetchone()  # type: ignore[misc]
        con.close()
        pairs: list[tuple[float, int]] = []
        backlog = 0
        persist_s = 0.0
        for line in latency_log.read_text().splitlines():
            entry = json.loads(line)
            pairs += [tuple(p) for p in entry["latencies"]]  # type: ignore[misc]
            backlog = max(backlog, entry["backlog"])
            persist_s += entry["seconds"]
    sent = int(stats["ticks_total"])
    return {
        "target_rate": rate,
        "duration_s": duration,
        "sent": sent,
        "sent_rate": round(sent / duration),
        "stored": stored,
        "lost": sent - stored,
        "collector_ticks": _collector_ticks(output),
        "trades_stored_twice": doubled,
        "sessions": sessions[0] if sessions else None,
        "sim_ticks": stats["ticks"] if keep is not None else None,
        "last_reason": sessions[1] if sessions else None,
        "latency_p50_ms": round(quantile(pairs, 0.50)) if pairs else None,
        "latency_p99_ms": round(quantile(pairs, 0.99)) if pairs else None,
        "collector_peak_rss_mb": round(peak_rss / 1e6, 1),
        "collector_cpu_s": round(cpu, 1),
        "persist_busy_s": round(persist_s, 1),
        "max_sealed_backlog": backlog,
        "elapsed_s": round(elapsed, 1),
        # Other work on the machine during the run (the 1-minute load average at its end).
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "collector_tail": output.strip().splitlines()[-3:],
    }


def _collector_ticks(output: str) -> int | None:
    match = re.search(r"frames, (\d+) ticks", output)
    return int(match.group(1)) if match else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", default="driver", choices=("driver", "promoter"))
    parser.add_argument("--warehouse", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--rates", default="1000,5000,10000,20000,50000,100000")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--seal-interval", type=float, default=1.0)
    parser.add_argument("--keep", type=Path, help="keep each run's warehouse under this folder")
    args = parser.parse_args()
    if args.role == "promoter":
        promoter(args.warehouse, args.out)
        return 0
    rows = []
    for rate in (float(r) for r in args.rates.split(",")):
        row = run_rate(rate, args.duration, args.seal_interval, args.keep)
        print(json.dumps(row), flush=True)
        rows.append(row)
    clean = [r for r in rows if r["lost"] == 0 and r["sessions"] == 1]
    report = {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "seal_interval_s": args.seal_interval,
        "highest_zero_loss_sent_rate": max((r["sent_rate"] for r in clean), default=None),
        "runs": rows,
    }
    save("stream_e2e", report, detail="runs")
    return 0


def save(name: str, report: dict[str, Any], *, detail: str) -> None:
    """Write the report to bench/results/<name>.json and print it without its `detail` list."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k != detail}, indent=2))


if __name__ == "__main__":
    raise SystemExit(main())
