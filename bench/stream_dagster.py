"""Tick persistence through the real Dagster path: simulator -> collector -> daemon + sensor.

Three processes as `make dev` runs them during market hours, all on loopback: the simulator
streaming at `--rate` ticks/s, the collector (`kis-pipeline stream`, 5-second
segments, the 20 symbols at the top of the volume ranking x trades + order book), and a real
`dagster-daemon` on the project's workspace, against a temporary DAGSTER_HOME holding a copy of
the project's dagster.yaml. The daemon evaluates `tick_segments_sensor` and launches its runs
exactly as in production (queued run coordinator, default run launcher, one process per run).

Every `--sample` seconds it records: the spool backlog (sealed segments and bytes waiting),
tick_segment_job runs launched and in flight, CPU % (of one core) of the collector, of the
daemon with its code servers, and of the persistence runs (psutil; see CpuMeter), the size of
DAGSTER_HOME and the 1-minute load average (the machine is shared). A watcher notes when each
lake snapshot makes a segment readable through DuckDB; receive -> queryable latency is that
moment minus each tick's `received_at`. After `--minutes` the collector stops; the daemon
drains the spool, then the script checks what the simulator sent against what the warehouse
holds. `tick_collector_sensor` is stopped: the benchmark runs its own collector for a fixed
time.

    .venv/bin/python bench/stream_dagster.py [--minutes 10] [--rate 2000] [--interval 60]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import psutil
from stream_e2e import REPO, _collector_ticks, save, sim_stats, start_simulator

from kis_pipeline.warehouse import LakeError, Warehouse, WarehouseError, connect

JOB = "tick_segment_job"
TICK_TABLES = ("trade_ticks", "orderbook_ticks")


class CatalogWatcher(threading.Thread):
    """Notes, for every segment, the first moment its rows are readable through the lake."""

    def __init__(self, warehouse: Path, poll_s: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.warehouse = Warehouse(warehouse)
        self.poll_s = poll_s
        self.seen: dict[str, float] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        last = None
        while not self._halt.is_set():
            try:
                snapshot = (
                    self.warehouse.snapshot() if self.warehouse.lake.catalog_file.exists() else None
                )  # type: ignore[union-attr]
            except WarehouseError:
                snapshot = None
            if snapshot is not None and snapshot != last:
                committed = time.time()
                try:
                    self._note(committed)
                    last = snapshot
                except (duckdb.Error, LakeError):
                    pass  # look again at the next poll
            self._halt.wait(self.poll_s)

    def _note(self, when: float) -> None:
        con = connect(self.warehouse)
        try:
            listed = con.execute("select table_name from duckdb_tables()").fetchall()
            present = {name for (name,) in listed}
            for table in TICK_TABLES:
                if table in present:
                    query = f"select distinct segment_id from {table}"
                    for (segment,) in con.execute(query).fetchall():
                        self.seen.setdefault(segment, when)
        finally:
            con.close()

    def stop(self) -> None:
        self._halt.set()
        self.join(10)


class CpuMeter(threading.Thread):
    """Cumulative CPU seconds of the collector, the Dagster daemon with its code servers, and the
    persistence runs.

    Every `poll_s` it finds the processes whose environment holds this benchmark's DAGSTER_HOME
    (the daemon re-creates its code server every minute, and a run can outlive the code server
    that forked it, so the process tree alone would lose runs) and keeps each one's highest CPU
    time seen. A process's last `poll_s` before it exits is missed: for the runs, a lower bound
    off by at most `poll_s` CPU seconds per run.
    """

    def __init__(self, collector: int, home: Path, poll_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.collector = collector
        self.home = str(home)
        self.poll_s = poll_s
        self.seen: dict[tuple[int, float], tuple[str, float]] = {}  # (pid, started) -> cpu
        self.ignored: set[tuple[int, float]] = set()
        self._lock = threading.Lock()
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self._poll()
            self._halt.wait(self.poll_s)

    def _poll(self) -> None:
        for proc in psutil.process_iter(["pid", "create_time"]):
            key = (proc.info["pid"], proc.info["create_time"])
            if key in self.ignored:
                continue
            try:
                category = self.seen[key][0] if key in self.seen else self._category(proc)
                times = proc.cpu_times()
            except psutil.Error:
                continue
            if category is None:
                self.ignored.add(key)
                continue
            with self._lock:
                self.seen[key] = (category, times.user + times.system)

    def _category(self, proc: psutil.Process) -> str | None:
        if proc.pid == self.collector:
            return "collector"
        if proc.environ().get("DAGSTER_HOME") != self.home:
            return None
        command = " ".join(proc.cmdline())
        return "daemon" if "dagster-daemon" in command or " api grpc " in command else "runs"

    def sample(self) -> dict[str, float]:
        out = {"collector": 0.0, "daemon": 0.0, "runs": 0.0}
        with self._lock:
            for category, cpu in self.seen.values():
                out[category] += cpu
        return out

    def stop(self) -> None:
        self._halt.set()
        self.join(10)


def spool_backlog(warehouse: Path) -> tuple[int, int]:
    sealed = list((warehouse / "spool" / "sealed").glob("*.seg"))
    size = 0
    for path in sealed:
        with contextlib.suppress(FileNotFoundError):
            size += path.stat().st_size
    return len(sealed), size


def folder_mb(path: Path) -> float:
    total = 0
    for file in path.rglob("*"):
        try:
            if file.is_file():
                total += file.stat().st_size
        except FileNotFoundError:
            pass
    return round(total / 1e6, 1)


def run_counts(home: Path) -> dict[str, int]:
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = instance.get_run_records(filters=dg.RunsFilter(job_name=JOB))
    counts: dict[str, int] = {"total": len(records)}
    for record in records:
        status = record.dagster_run.status.value.lower()
        counts[status] = counts.get(status, 0) + 1
    return counts


IN_FLIGHT = ("queued", "not_started", "starting", "started", "canceling")


def stop_collector_sensor(env: dict[str, str], root: Path) -> None:
    """The benchmark runs its own collector for a fixed time: keep the daemon from starting
    another one (during KRX hours it would, once ours stops)."""
    dagster = Path(sys.executable).with_name("dagster")
    subprocess.run(
        [
            str(dagster),
            "sensor",
            "stop",
            "-w",
            str(REPO / "workspace.yaml"),
            "tick_collector_sensor",
        ],
        env=env,
        cwd=root,
        check=True,
        capture_output=True,
    )


def start_daemon(env: dict[str, str], root: Path) -> subprocess.Popen[bytes]:
    daemon = Path(sys.executable).with_name("dagster-daemon")
    log = (root / "daemon.log").open("wb")
    return subprocess.Popen(
        [str(daemon), "run", "-w", str(REPO / "workspace.yaml")],
        env=env,
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def latencies(warehouse: Path, seen: dict[str, float]) -> dict[str, Any]:
    """p50/p99 over every stored tick of (moment its segment became readable - received_at)."""
    con = connect(Warehouse(warehouse))
    try:
        con.execute("create temp table seen (segment_id varchar, seen_ms double)")
        con.executemany("insert into seen values (?, ?)", [(s, t * 1e3) for s, t in seen.items()])
        union = " union all ".join(
            f"select segment_id, epoch_ms(received_at) as received_ms from {t}" for t in TICK_TABLES
        )
        p50, p99, n, unseen, stored, doubled = con.execute(
            f"""
            with ticks as ({union})
            select quantile_cont(seen_ms - received_ms, 0.5),
                   quantile_cont(seen_ms - received_ms, 0.99),
                   count(seen_ms), count(*) - count(seen_ms),
                   (select count(*) from ticks),
                   (select count(*) - count(distinct (symbol, cum_volume)) from trade_ticks)
            from ticks left join seen using (segment_id)
            """
        ).fetchone()  # type: ignore[misc]
    finally:
        con.close()
    return {
        "latency_p50_s": round(p50 / 1e3, 1) if p50 is not None else None,
        "latency_p99_s": round(p99 / 1e3, 1) if p99 is not None else None,
        "ticks_timed": n,
        "ticks_untimed": unseen,
        "stored": stored,
        "trades_stored_twice": doubled,
    }


def stop(process: subprocess.Popen[Any], timeout: float = 60) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def stop_group(process: subprocess.Popen[Any], timeout: float = 60) -> None:
    """Stop a process started in a session of its own, and whatever it started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def every(seconds: float) -> Iterator[float]:
    start = time.monotonic()
    n = 0
    while True:
        n += 1
        delay = start + n * seconds - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield time.monotonic() - start


def bench(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    warehouse, home = root / "warehouse", root / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    sim, rest_url, ws_url = start_simulator(args.rate)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "DAGSTER_"))}
    env.update(
        {
            "KIS_ENV": "sim",
            "KIS_REST_URL": rest_url,
            "KIS_WS_URL": ws_url,
            "KIS_WAREHOUSE": str(warehouse),
            "KIS_STATE_DIR": str(root / "state"),
            "DAGSTER_HOME": str(home),
        }
    )
    if args.interval is not None:
        env["KIS_TICK_PERSIST_INTERVAL"] = str(args.interval)
    duration = args.minutes * 60
    stop_collector_sensor(env, root)
    collector = subprocess.Popen(
        [sys.executable, "-m", "kis_pipeline.cli", "stream", "--duration", str(duration)],
        env=env,
        cwd=root,
        stdout=(root / "collector.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    daemon = start_daemon(env, root)
    watcher = CatalogWatcher(warehouse)
    watcher.start()
    meter = CpuMeter(collector.pid, home)
    meter.start()
    samples: list[dict[str, Any]] = []
    previous = meter.sample()
    drain_until: float | None = None
    try:
        for elapsed in every(args.sample):
            cpu = meter.sample()
            backlog, backlog_bytes = spool_backlog(warehouse)
            runs = run_counts(home)
            in_flight = sum(runs.get(s, 0) for s in IN_FLIGHT)
            row = {
                "t_s": round(elapsed),
                "collecting": collector.poll() is None,
                "backlog_segments": backlog,
                "backlog_mb": round(backlog_bytes / 1e6, 1),
                "runs": runs["total"],
                "in_flight": in_flight,
                "failed": runs.get("failure", 0),
                **{
                    f"cpu_{k}_pct": round((cpu[k] - previous[k]) / args.sample * 100, 1)
                    for k in cpu
                },
                "dagster_home_mb": folder_mb(home),
                "load_1m": round(os.getloadavg()[0], 2),
            }
            previous = cpu
            samples.append(row)
            print(json.dumps(row), flush=True)
            if collector.poll() is not None:
                drain_until = drain_until or time.monotonic() + args.drain_timeout
                if (backlog == 0 and in_flight == 0) or time.monotonic() > drain_until:
                    break
    finally:
        stop(collector)
        try:
            stats = sim_stats(rest_url)
        finally:
            stop_group(daemon)
            watcher.stop()
            meter.stop()
            stop(sim, 30)
    collected = [s for s in samples if s["collecting"]]
    runs = run_counts(home)
    received = _collector_ticks((root / "collector.log").read_text())
    result = latencies(warehouse, watcher.seen)
    sent = int(stats["ticks_total"])

    def mean(key: str) -> float:
        return round(sum(s[key] for s in collected) / max(len(collected), 1), 1)

    return {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "minutes": args.minutes,
        "target_rate": args.rate,
        "sent": sent,
        "sent_rate": round(sent / duration),
        **result,
        "collector_ticks": received,
        "lost": sent - result["stored"],
        "runs": runs.get("total", 0),
        "runs_failed": runs.get("failure", 0),
        "segments_persisted": len(watcher.seen),
        # Runs launched while collecting, scaled to a 6.5-hour session.
        "runs_per_trading_day": round(
            (collected[-1]["runs"] if collected else 0) / (len(collected) * args.sample) * 23_400
        ),
        "backlog_max_segments": max((s["backlog_segments"] for s in collected), default=0),
        "backlog_end_segments": collected[-1]["backlog_segments"] if collected else None,
        "cpu_mean_pct": {k: mean(f"cpu_{k}_pct") for k in ("collector", "daemon", "runs")},
        "load_1m_mean": mean("load_1m"),
        "load_1m_max": max((s["load_1m"] for s in collected), default=0),
        "dagster_home_mb": samples[-1]["dagster_home_mb"] if samples else None,
        "drain_s": samples[-1]["t_s"] - duration if samples else None,
        "samples": samples,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=2000.0, help="ticks/s the simulator sends")
    parser.add_argument(
        "--interval", type=float, help="KIS_TICK_PERSIST_INTERVAL (default: the product's)"
    )
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument("--keep", type=Path, help="keep the warehouse and logs in this folder")
    args = parser.parse_args()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=False)
        report = bench(args, args.keep)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            report = bench(args, Path(tmp))
    save("stream_dagster", report, detail="samples")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
