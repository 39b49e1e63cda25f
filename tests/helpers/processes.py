"""Stopping what a test started in a process group of its own."""

from __future__ import annotations

import os
import signal
import subprocess


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
