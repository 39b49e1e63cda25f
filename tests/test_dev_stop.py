"""Stopping `kis-pipeline dev` with SIGINT (Ctrl-C) or SIGTERM (a service manager): it stops
everything it started (the Dagster webserver, daemon and code servers, a tick collector run, the
embedded simulator), then exits 130 or 143 with one line; no process of its is left, the
collector sealed everything it spooled, and a new `kis-pipeline stream` is not refused.

Slow (`-m slow`): the Dagster webserver and a run take 40-90 s to come up on a shared machine.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from dagster_graphql import DagsterGraphQLClient

from kis_pipeline.streaming import heartbeat
from kis_pipeline.streaming.spool import Spool

CLI = [sys.executable, "-m", "kis_pipeline.cli"]
STOPPED = "stopped ({}): Dagster, its runs and the tick collector are down"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(condition: object, what: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while not condition():  # type: ignore[operator]
        assert process.poll() is None, f"dev exited before {what}: {log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"no {what} in 180 s: {log.read_text()[-3000:]}"
        time.sleep(0.5)


def _serving(url: str) -> bool:
    try:
        return httpx.get(f"{url}/server_info", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _live(pids: set[int]) -> list[str]:
    alive = []
    for pid in pids:
        try:
            process = psutil.Process(pid)
            if process.status() != psutil.STATUS_ZOMBIE:
                alive.append(" ".join(process.cmdline()[:4]))
        except psutil.NoSuchProcess:
            pass
    return alive


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_dev_stops_everything_it_started(tmp_path: Path, signum: int, code: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "DAGSTER_"))}
    env.update(
        KIS_ENV="sim",  # the embedded simulator, started by dev itself
        KIS_WAREHOUSE=str(tmp_path / "wh"),
        KIS_STATE_DIR=str(tmp_path / "state"),
    )
    port = _free_port()
    log = tmp_path / "dev.txt"
    with log.open("wb") as out:
        dev = subprocess.Popen(
            [*CLI, "dev", "--port", str(port)], env=env, cwd=tmp_path, stdout=out, stderr=out
        )
    try:
        _wait(lambda: _serving(f"http://127.0.0.1:{port}"), "Dagster UI", dev, log)
        config = {"duration_s": 600.0, "symbols": ["005930"], "seal_interval_s": 0.5}
        DagsterGraphQLClient("127.0.0.1", port_number=port).submit_job_execution(
            "tick_collector_job", run_config={"ops": {"run_tick_collector": {"config": config}}}
        )
        spool = Spool.for_warehouse(tmp_path / "wh")
        beats = lambda: [heartbeat.read_heartbeat(p) for p in spool.heartbeats()]  # noqa: E731
        _wait(lambda: any(heartbeat.is_alive(b) for b in beats()), "tick collector", dev, log)
        started = {dev.pid} | {p.pid for p in psutil.Process(dev.pid).children(recursive=True)}
        collector = next(int(b["pid"]) for b in beats() if heartbeat.is_alive(b))
        assert collector in started
        said_before = log.stat().st_size
        dev.send_signal(signum)
        dev.wait(timeout=120)
    finally:
        if dev.poll() is None:
            dev.kill()
    said = log.read_bytes()[said_before:].decode(errors="replace")
    assert dev.returncode == code, said
    name = signal.Signals(signum).name
    # One line, its own: Dagster's farewells and tracebacks are not shown.
    assert said.strip().splitlines() == [STOPPED.format(name)], said
    assert _live(started) == []
    # The collector stopped cleanly: everything it spooled is sealed, nothing half-written.
    open_dirs = [spool.open_dir(key) for key in spool.open_keys()]
    assert not [p for d in open_dirs for p in d.glob("*.seg")]
    assert spool.sealed_ids()
    # Its locks went with it: a new collector on the same key starts.
    stream = subprocess.run(
        [*CLI, "stream", "--duration", "1", "--symbols", "005930"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert stream.returncode == 0, stream.stdout + stream.stderr
