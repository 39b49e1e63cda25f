"""Small tmpfs disks that tests mount (root only; elsewhere the tests skip), and filling them.

A pytest plugin (`tests/conftest.py` loads it): the `tmpfs` fixture mounts them."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

Mount = Callable[[str, str], Path]


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Mount]:
    """`tmpfs(name, size)` mounts a tmpfs of `size` (e.g. "4m") at tmp_path/name."""
    mounted: list[Path] = []

    def mount(name: str, size: str) -> Path:
        if os.geteuid() != 0 or shutil.which("mount") is None:
            pytest.skip("mounting a small tmpfs needs root and mount(8)")
        path = tmp_path / name
        path.mkdir()
        done = _run_mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(path)
        return path

    yield mount
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def _run_mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


def read_only(path: Path) -> None:
    assert _run_mount("-o", "remount,ro", str(path)).returncode == 0


def fill(disk: Path, *, leave: int = 0) -> Path:
    """Fill `disk` up to `leave` bytes (to the page); returns the filler file to delete later."""
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free - leave
    with open(filler, "wb") as handle:
        try:
            while free > 0:
                handle.write(b"\0" * min(free, 1 << 16))
                free -= 1 << 16
            handle.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler
