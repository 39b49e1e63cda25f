"""A child command and everything it starts, stopped together (`kis-pipeline dev`).

`dagster dev` starts a webserver, a daemon and code servers, and the daemon's runs start run
workers and step processes (the tick collector among them). Stopping `dagster dev` alone leaves
some of them running: a code server, a run worker, a collector holding the app key's only
WebSocket session. So the child is started in a process group of its own (a new session, so a
terminal's Ctrl-C reaches only the parent, which decides how to stop), and `stop()` signals the
whole group, waits for every member to exit, and kills what is still there after a grace period.
Nothing in the group is left running: its members inherit the group unless they leave it, which
none of Dagster's do.

The child's output is relayed line by line to the parent's stderr; once the stop begins it is
dropped, so that stopping prints one line of the parent's, not every process's farewell.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from kis_pipeline.kis.state import DEAD_STATES, proc_stat

POLL_S = 0.1


class ProcessGroup:
    """`argv` running in a new session; see the module docstring."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        *,
        out: BinaryIO | None = None,
        keep_output_on_stop: bool = False,
    ) -> None:
        self.process = subprocess.Popen(
            list(argv),
            env=dict(env),
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.pgid = self.process.pid  # the leader of a new session leads its group
        self._out = out or sys.stderr.buffer
        self._quiet = threading.Event()
        self._keep = keep_output_on_stop
        self._relay = threading.Thread(target=self._relay_output, name="relay", daemon=True)
        self._relay.start()

    def wait(self) -> int:
        """Until the child exits by itself; its exit status."""
        return self.process.wait()

    def stop(self, signum: int, grace_s: float = 30.0) -> bool:
        """Send `signum` to the whole group, wait up to `grace_s` for every member to exit,
        then kill the rest. A signal meanwhile (KeyboardInterrupt) kills at once. True if
        everything exited on the signal, without being killed."""
        if not self._keep:
            self._quiet.set()
        self._signal(signum)
        try:
            if self._wait_empty(grace_s):
                return True
        except KeyboardInterrupt:
            pass
        self._signal(signal.SIGKILL)
        self._wait_empty(10.0)
        return False

    def members(self) -> list[int]:
        """Live (not zombie) processes of the group."""
        self.process.poll()  # reap the leader if it exited
        return group_members(self.pgid)

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, signum)

    def _wait_empty(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.members():
            if time.monotonic() > deadline:
                return False
            time.sleep(POLL_S)
        self._relay.join(1.0)
        return True

    def _relay_output(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        for line in iter(stream.readline, b""):
            if self._quiet.is_set():
                continue  # keep reading: a member blocked on a full pipe would never exit
            with contextlib.suppress(OSError, ValueError):
                self._out.write(line)
                self._out.flush()


def group_members(pgid: int) -> list[int]:
    """Pids of the live processes in group `pgid` (zombies, already dead, are not counted)."""
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: ask the kernel whether anyone is left, zombies included
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for entry in proc.iterdir():
        fields = proc_stat(entry.name) if entry.name.isdigit() else None
        if fields and len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in DEAD_STATES:
            members.append(int(entry.name))
    return members
