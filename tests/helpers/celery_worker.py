"""A real `dagster-celery` worker for a test, in a process group of its own."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

from tests.helpers.processes import stop_group, wait_until_ready

ROOT = Path(__file__).parents[2]
# As README's scale-out recipe starts it, with `-y` the worker's config file.
ARGUMENTS = ("worker", "start", "-A", "dagster_celery.app", "-y")


def broker_config(path: Path, broker: str) -> Path:
    """The executor config a worker starts with (`-y`): the broker, also its result backend."""
    path.write_text(f"execution:\n  config:\n    broker: {broker}\n    backend: {broker}\n")
    return path


@contextlib.contextmanager
def running_worker(
    config: Path, environ: Mapping[str, str], log: Path, *, ready_s: float = 90
) -> Iterator[subprocess.Popen[bytes]]:
    """`dagster-celery worker start` with `environ` until the block ends; waits until it is
    ready to take tasks."""
    bindir = Path(sys.executable).parent
    out = log.open("wb")
    worker = subprocess.Popen(
        [str(bindir / "dagster-celery"), *ARGUMENTS, str(config),
         "--name", f"kis-test-{uuid.uuid4().hex[:8]}", "-l", "INFO",
         # One task at a time: a host's worth of steps, and the test can tell who ran what.
         "--", "--concurrency", "1"],
        env={
            **os.environ,
            **environ,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),
            # `dagster-celery` starts `celery` from PATH: the one beside this interpreter.
            "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        },
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
        # `dagster-celery` runs `celery` as a child: the group is stopped as one.
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_until_ready(
            worker, log, lambda: b"ready" in log.read_bytes(), "the celery worker", ready_s
        )
        yield worker
    finally:
        stop_group(worker, 30)
        out.close()
