"""Processes on this machine: whether one still runs, and its /proc status.

The files processes share (locks, private atomic writes) are `common.files`.
"""

from __future__ import annotations

import os
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (another user's counts; a zombie,
    dead but not yet reaped by its parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    fields = proc_stat(pid)
    return fields is None or fields[0] not in DEAD_STATES


# /proc/<pid>/stat states of a process that has exited (zombie, dead).
DEAD_STATES = ("Z", "X")


def proc_stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state, ppid, pgrp, ...), or None
    where there is no /proc (not Linux) or no such process."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    return stat[stat.rfind(")") + 2 :].split()
