"""Stopping the long-running commands: `stream` and `sim` on SIGINT or SIGTERM exit 130 or
143 after a clean stop (every frame sealed, no lock left behind), and a collector whose owner
(`kis-pipeline dev`, named by KIS_OWNER_PID) is gone stops by itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.streaming.locks import collector_locks
from kis_pipeline.streaming.spool import Spool
from tests.helpers.simulator import sim_environ

CLI = [sys.executable, "-m", "kis_pipeline.cli"]


def environ(server: SimulatorServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "DAGSTER_"))}
    return {
        **base,
        **sim_environ(server, tmp_path / "state", KIS_WAREHOUSE=str(tmp_path / "wh"), **extra),
    }


def start(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, *argv],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_line(process: subprocess.Popen[str], text: str, timeout: float = 60) -> list[str]:
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"no {text!r} in: {''.join(seen)}")


def run_until(
    argv: list[str],
    env: dict[str, str],
    cwd: Path,
    ready: str,
    then: Callable[[subprocess.Popen[str]], object],
) -> tuple[int, str]:
    """Start a command, wait for its `ready` line, do `then` to it, and collect its output."""
    process = start(argv, env, cwd)
    try:
        seen = wait_for_line(process, ready)
        then(process)
        out, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, "".join(seen) + out


def no_stale_lock(server: SimulatorServer, env: dict[str, str]) -> None:
    # A new collector on the same key starts: the stopped one released its locks.
    settings = KisSettings.from_env(env)
    spool = Spool.for_warehouse(settings.warehouse)
    with collector_locks(settings.state_dir, spool.open_lock(settings.key_id), settings.key_id):
        pass
    # Nothing left open: every segment the collector wrote is sealed.
    assert spool.sealed_ids()
    open_dir = spool.open_dir(settings.key_id)
    assert not open_dir.is_dir() or not [p for p in open_dir.iterdir() if p.is_file()]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_stream_stops_cleanly_on_a_signal(
    sim_server: SimulatorServer, tmp_path: Path, signum: int, code: int
) -> None:
    env = environ(sim_server, tmp_path)
    symbol = sim_server.state.market.listings[0].symbol
    argv = ["stream", "--duration", "120", "--symbols", symbol]
    status, out = run_until(
        argv, env, tmp_path, "subscriptions active", lambda p: p.send_signal(signum)
    )
    assert status == code, out
    assert f"stopped ({signal.Signals(signum).name})" in out
    assert "Traceback" not in out
    no_stale_lock(sim_server, env)


def _exited_unreaped(owner: subprocess.Popen[bytes]) -> None:
    """Until `owner` has exited, without reaping it: it stays a zombie."""
    while psutil.Process(owner.pid).status() != psutil.STATUS_ZOMBIE:
        time.sleep(0.05)


@pytest.mark.parametrize("reaped", [True, False])
def test_a_collector_whose_owner_is_gone_stops_itself(
    sim_server: SimulatorServer, tmp_path: Path, reaped: bool
) -> None:
    # Unreaped, the owner is a zombie: its pid still answers, yet it is gone.
    # Long enough for the collector to subscribe first on a loaded machine.
    owner = subprocess.Popen(["sleep", "10"])
    env = environ(sim_server, tmp_path, KIS_OWNER_PID=str(owner.pid))
    symbol = sim_server.state.market.listings[0].symbol
    argv = ["stream", "--duration", "120", "--symbols", symbol]
    wait = (lambda _: owner.wait()) if reaped else (lambda _: _exited_unreaped(owner))
    try:
        status, out = run_until(argv, env, tmp_path, "subscriptions active", wait)
    finally:
        if owner.poll() is None:
            owner.kill()
    assert status == 0, out
    assert f"(pid {owner.pid}) is gone; stopping" in out
    assert "stopped (owner gone)" in out
    no_stale_lock(sim_server, env)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_sim_stops_on_a_signal(tmp_path: Path, signum: int, code: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "DAGSTER_"))}
    argv = ["sim", "--rest-port", "0", "--ws-port", "0"]
    status, out = run_until(
        argv, env, tmp_path, "Press Ctrl-C to stop.", lambda p: p.send_signal(signum)
    )
    assert status == code, out
    assert "KIS simulator stopped." in out and "Traceback" not in out
