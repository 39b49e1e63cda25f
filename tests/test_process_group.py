"""`ProcessGroup`, what `kis-pipeline dev` runs Dagster in: stopping it leaves none of the
processes the child started, grandchildren included, and only what came before the stop is
relayed (the slow `test_dev_stop.py` does it with the real Dagster)."""

from __future__ import annotations

import io
import os
import signal
import time

import psutil

from kis_pipeline.cli.process_group import ProcessGroup

# A child that starts grandchildren, one of which ignores SIGTERM, and talks until stopped.
SCRIPT = """
sleep 300 &
sh -c 'trap "" TERM; sleep 300' &
echo ready
trap 'echo goodbye; exit 0' TERM
while true; do sleep 0.05; done
"""


def test_stop_ends_every_process_the_child_started_and_drops_its_farewells() -> None:
    out = io.BytesIO()
    group = ProcessGroup(["sh", "-c", SCRIPT], os.environ, out=out)
    deadline = time.monotonic() + 10
    while b"ready" not in out.getvalue() or len(group.members()) < 4:
        assert time.monotonic() < deadline, out.getvalue()
        time.sleep(0.05)
    started = group.members()
    assert group.process.pid in started and len(started) >= 4
    # The one that ignores SIGTERM is killed after the grace period.
    assert group.stop(signal.SIGTERM, grace_s=1.0) is False
    assert group.members() == []
    assert not [p for p in started if psutil.pid_exists(p) and not _zombie(p)]
    assert out.getvalue().splitlines() == [b"ready"]


def test_a_group_that_exits_on_the_signal_is_not_killed() -> None:
    group = ProcessGroup(["sh", "-c", "sleep 300 & wait"], os.environ, out=io.BytesIO())
    deadline = time.monotonic() + 10
    while len(group.members()) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert group.stop(signal.SIGTERM) is True
    assert group.members() == []


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
