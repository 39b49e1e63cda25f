"""The REST request budget of one app key, shared by every process that uses the key.

KIS counts requests per app key across all processes and hosts (SPEC §5), so the state must
live outside any one process. The generic cell rate algorithm (GCRA) needs one number per key,
the theoretical arrival time (TAT) of the next allowed request: read it, take a slot, advance it
by 1/rate, all under a lock. Requests are spaced evenly; unlike a token bucket, nothing can
burst at a second boundary. `FileRateLimiter` keeps the TAT in a locked file (one machine); a
Redis or Postgres implementation of `RateLimiter` serves a cluster later.
"""

from __future__ import annotations

import fcntl
import os
import struct
import threading
import time
from pathlib import Path
from typing import Protocol

_TAT = struct.Struct("<d")
_MAX_QUEUE_S = 60.0


class RateLimiter(Protocol):
    """Blocks until the caller may send one request; returns the seconds it waited."""

    rate: float

    def acquire(self) -> float: ...


def _take_slot(tat: float, now: float, interval: float) -> tuple[float, float]:
    """GCRA with no burst allowance: returns (when this request may go, the new TAT)."""
    start = max(tat, now)
    return start, start + interval


class LocalRateLimiter:
    """GCRA for one process (tests, and a reference for the shared implementations)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.last_slot = 0.0  # when the latest acquire was allowed to send (epoch seconds)
        self._interval = 1.0 / rate
        self._tat = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> float:
        with self._lock:
            now = time.time()
            start, self._tat = _take_slot(self._tat, now, self._interval)
            self.last_slot = start
        return _sleep_until(start, now)


class FileRateLimiter:
    """GCRA whose TAT lives in a file locked with flock: shared by all processes of a machine.

    The TAT is wall-clock time (`time.time()`), the only clock that processes share.
    """

    def __init__(self, path: Path, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.last_slot = 0.0  # when the latest acquire was allowed to send (epoch seconds)
        self.path = path
        self._interval = 1.0 / rate
        self._thread_lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)

    def acquire(self) -> float:
        with self._thread_lock:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                raw = os.pread(fd, _TAT.size, 0)
                tat = _TAT.unpack(raw)[0] if len(raw) == _TAT.size else 0.0
                now = time.time()
                # Waiters queue up by pushing the TAT ahead, but a minute ahead can only come
                # from the wall clock stepping back: start afresh rather than stall everyone.
                if tat - now > _MAX_QUEUE_S:
                    tat = now
                start, new_tat = _take_slot(tat, now, self._interval)
                os.pwrite(fd, _TAT.pack(new_tat), 0)
                self.last_slot = start
            finally:
                os.close(fd)  # closing releases the flock
        return _sleep_until(start, now)


def _sleep_until(start: float, now: float) -> float:
    wait = start - now
    if wait > 0:
        time.sleep(wait)
        return wait
    return 0.0
