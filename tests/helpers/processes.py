"""Stopping what a test started in a process group of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def stop_group(process: subprocess.Popen[bytes], grace_s: float) -> bool:
    """SIGTERM to `process`'s group (started with `start_new_session=True`), SIGKILL if it has
    not ended within `grace_s`; whether it ended on the SIGTERM."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
        return True
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace_s)
        return False


def wait_until_ready(
    process: subprocess.Popen[bytes],
    log: Path,
    ready: Callable[[], bool],
    what: str,
    within_s: float,
) -> None:
    """Poll `ready` until it holds; fail with the end of `log` if `process` dies first, or
    saying that `what` did not start within `within_s`."""
    deadline = time.monotonic() + within_s
    while not ready():
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"{what} did not start in {within_s} s"
        time.sleep(0.5)
