"""A real `dagster-daemon` on a test's instance, polling every second instead of every 30.

The daemon's loops (backfills, the run queue) sleep `DEFAULT_DAEMON_INTERVAL_SECONDS` between
iterations, a module constant with no setting; a backfill that takes three iterations would make
a test wait a minute and a half. The constant is lowered in the daemon's own process before it
starts: everything else is Dagster's daemon as a team runs it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from tests.helpers.processes import stop_group, wait_until_ready

ROOT = Path(__file__).parents[2]
INTERVAL_S = 1
# As README's scale-out recipe starts it (`dagster-daemon` + these arguments).
ARGUMENTS = ("run", "-w", "workspace.yaml")
START = (
    "import sys, dagster._daemon.controller as controller; "
    f"controller.DEFAULT_DAEMON_INTERVAL_SECONDS = {INTERVAL_S}; "
    "from dagster._daemon.cli import main; sys.argv[0] = 'dagster-daemon'; main()"
)


@contextlib.contextmanager
def running_daemon(
    environ: Mapping[str, str], log: Path, *, ready_s: float = 120
) -> Iterator[subprocess.Popen[bytes]]:
    """`dagster-daemon run` on `workspace.yaml` with `environ` (DAGSTER_HOME and the product's
    variables), until the block ends; waits until its backfill loop has told the instance it
    is alive (what `backfill --submit` and `--cancel` look for)."""
    out = log.open("wb")
    bindir = Path(sys.executable).parent
    daemon_home = {**os.environ, **environ}["DAGSTER_HOME"]
    daemon = subprocess.Popen(
        [sys.executable, "-W", "ignore", "-c", START, *ARGUMENTS],
        env={
            **os.environ,
            **environ,
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            # The code server and the runs it launches start from PATH: this interpreter's.
            "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        },
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
        # The daemon starts a code server and run workers: they are stopped as one group.
        start_new_session=True,
    )
    try:
        # The log line first: opening the instance here while the daemon creates its storage
        # would race it for the schema.
        wait_until_ready(
            daemon,
            log,
            lambda: b"BackfillDaemon" in log.read_bytes() and _heard_from(daemon_home),
            "the daemon",
            ready_s,
        )
        yield daemon
    finally:
        stop_group(daemon, 30)
        out.close()


def _heard_from(home: str) -> bool:
    """Whether the instance at `home` holds a heartbeat of a backfill daemon."""
    import dagster as dg

    with dg.DagsterInstance.from_config(home) as instance:
        return "BACKFILL" in instance.get_daemon_heartbeats()
