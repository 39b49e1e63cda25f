"""One collector per app key on this machine.

KIS allows one WebSocket session per app key (SPEC §5), and a second session is not only refused
(OPSP8996): connect/close loops against it get the key blocked. So a collector first takes two
non-blocking flocks and refuses to start, clearly, if either is held:
- `<KIS_STATE_DIR>/ws-<key_id>.lock`: every process of this machine using the key, whatever
  warehouse it writes to;
- `<spool>/open/<key_id>.lock`: the open segments of that key, which crash recovery may only
  touch while no collector owns them.
The kernel releases both when the process dies, kill -9 included, so there is nothing stale to
clean up. The lock files hold the owner's pid, for the error message only.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from kis_pipeline.common.files import ensure_private_dir
from kis_pipeline.streaming.errors import CollectorBusy


class FileLock:
    """A non-blocking exclusive flock on `path`, holding the owner's pid."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1

    def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def owner(self) -> str:
        try:
            return self.path.read_text().strip() or "?"
        except OSError:
            return "?"

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1

    @property
    def held(self) -> bool:
        return self._fd >= 0


def ws_lock_path(state_dir: Path, key_id: str) -> Path:
    return Path(state_dir) / f"ws-{key_id}.lock"


@contextlib.contextmanager
def collector_locks(
    state_dir: Path, spool_lock: Path, key_id: str, *, spool_wait_s: float = 10.0
) -> Iterator[None]:
    """Hold the app key's collector locks for the block, or raise CollectorBusy.

    The spool lock is waited for up to `spool_wait_s`: the Dagster sensor holds it for the
    moment it takes to recover a dead collector's segments.
    """
    # The collector may be the first to use KIS_STATE_DIR: make it private like the token store.
    ensure_private_dir(Path(state_dir))
    key_lock = FileLock(ws_lock_path(state_dir, key_id))
    if not key_lock.try_acquire():
        raise CollectorBusy(
            f"another collector (pid {key_lock.owner()}) is already streaming with this app key "
            "on this machine; KIS allows one WebSocket session per app key, so stop it first "
            "(or use another app key)"
        )
    try:
        open_lock = FileLock(spool_lock)
        deadline = time.monotonic() + spool_wait_s
        while not open_lock.try_acquire() and time.monotonic() < deadline:
            time.sleep(0.1)
        if not open_lock.held:
            raise CollectorBusy(
                f"the spool of this app key is in use (pid {open_lock.owner()}): another "
                "collector or a recovery is running on this warehouse; try again in a moment"
            )
        try:
            yield
        finally:
            open_lock.release()
    finally:
        key_lock.release()
