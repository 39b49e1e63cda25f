"""The REST request budget of one app key, shared by every process that uses the key.

KIS counts requests per app key across all processes and hosts (SPEC §5), so the state must
live outside any one process. The generic cell rate algorithm (GCRA) needs one number per key,
the theoretical arrival time (TAT) of the next allowed request: read it, take a slot, advance it
by 1/rate, all under a lock. Requests are spaced evenly; unlike a token bucket, nothing can
burst at a second boundary. `FileRateLimiter` keeps the TAT in a locked file (one machine);
`RedisRateLimiter` (`redis_state`) keeps it in Redis for workers on several hosts.

KIS counts requests when they arrive, not when their slot was granted. A caller that sleeps
until its slot and wakes up late (a loaded machine) would send late, while the callers after
it send on time: at 17/s a request 59 ms late lands in the same second as the 18 after it, and
KIS (18/s) answers the 19th with EGW00201. So a caller that wakes more than `LATE_TOLERANCE_S`
after its slot gives the slot up and queues again: every request leaves within the tolerance
of a slot, no two closer than 1/rate minus the tolerance, and at the default 17/s at most 18
leave in any second. What happens after a request leaves (the network, a busy server) is out
of the limiter's reach; the client retries the rare EGW00201 that still results.
"""

from __future__ import annotations

import fcntl
import os
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, Protocol

from kis_pipeline.common.files import ensure_private_dir

_TAT = struct.Struct("<d")
_MAX_QUEUE_S = 60.0
# How late a caller may wake after its slot and still send: well under the 59 ms that one
# request of headroom (17/s against KIS's 18/s) leaves, so the network keeps most of it.
LATE_TOLERANCE_S = 0.015
# A caller late this many times in a row sends anyway rather than starve.
MAX_REQUEUES = 5

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class RateLimiter(Protocol):
    """Blocks until the caller may send one request; returns the seconds it waited."""

    rate: float

    def acquire(self) -> float: ...


class Reservation(NamedTuple):
    """A slot of the budget (`granted`), or when to ask for one again (a shared queue is full)."""

    slot: float
    now: float
    granted: bool = True


def _take_slot(tat: float, now: float, interval: float) -> tuple[float, float]:
    """GCRA with no burst allowance: returns (when this request may go, the new TAT)."""
    start = max(tat, now)
    return start, start + interval


class _Gcra:
    """The acquire loop shared by the limiters; subclasses say where the TAT lives."""

    def __init__(self, rate: float, clock: Clock, sleep: Sleep) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.last_slot = 0.0  # when the latest acquire was allowed to send (clock seconds)
        self._interval = 1.0 / rate
        self._tolerance = min(LATE_TOLERANCE_S, self._interval / 4)
        self._clock = clock
        self._sleep = sleep

    def _reserve(self) -> Reservation:
        """Take the next slot, or learn when to ask again (clock seconds)."""
        raise NotImplementedError

    def acquire(self) -> float:
        waited = 0.0
        requeues = 0
        while True:
            slot, now, granted = self._reserve()
            if slot > now:
                self._sleep(slot - now)
                waited += slot - now
            if not granted:
                continue
            if self._clock() - slot <= self._tolerance or requeues == MAX_REQUEUES:
                break
            requeues += 1
        self.last_slot = slot
        return waited


class LocalRateLimiter(_Gcra):
    """GCRA for one process (tests, and a reference for the shared implementations)."""

    def __init__(self, rate: float, *, clock: Clock = time.time, sleep: Sleep = time.sleep) -> None:
        super().__init__(rate, clock, sleep)
        self._tat = 0.0
        self._lock = threading.Lock()

    def _reserve(self) -> Reservation:
        with self._lock:
            now = self._clock()
            slot, self._tat = _take_slot(self._tat, now, self._interval)
        return Reservation(slot, now)


class FileRateLimiter(_Gcra):
    """GCRA whose TAT lives in a file locked with flock: shared by all processes of a machine.

    The TAT is wall-clock time (`time.time()`), which every process reads alike. A forward
    step of the clock cannot bunch requests: the callers it wakes "late" queue again.
    """

    def __init__(
        self, path: Path, rate: float, *, clock: Clock = time.time, sleep: Sleep = time.sleep
    ) -> None:
        super().__init__(rate, clock, sleep)
        self.path = path
        self._thread_lock = threading.Lock()
        ensure_private_dir(path.parent)

    def _reserve(self) -> Reservation:
        with self._thread_lock:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                raw = os.pread(fd, _TAT.size, 0)
                tat = _TAT.unpack(raw)[0] if len(raw) == _TAT.size else 0.0
                now = self._clock()
                # Waiters queue up by pushing the TAT ahead, but a minute ahead can only come
                # from the wall clock stepping back: start afresh rather than stall everyone.
                if tat - now > _MAX_QUEUE_S:
                    tat = now
                slot, new_tat = _take_slot(tat, now, self._interval)
                os.pwrite(fd, _TAT.pack(new_tat), 0)
            finally:
                os.close(fd)  # closing releases the flock
        return Reservation(slot, now)
