"""Per-app-key request limits of the simulated gateway, and the counters behind /sim/stats.

Like the real service, the REST limit is a sliding window: more than `rate` requests in any
one-second window are answered with EGW00201. Rejected requests still count as arrivals in
the window (assumed real KIS behaviour: a client that keeps hammering stays rejected until it
backs off), so only a client that paces itself gets through. Rates below 1/s widen the window
instead (0.5/s = one request in any two seconds).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# The stats window is one second whatever the configured rate: it is what users compare
# against the documented "N requests per second".
STATS_WINDOW_S = 1.0


def window_shape(rate: float) -> tuple[int, float]:
    """(requests allowed, window length in seconds) for a rate in requests per second."""
    allowed = max(1, math.floor(rate))
    return allowed, max(1.0, allowed / rate)


class SlidingWindow:
    """Admits at most `allowed` arrivals in any `window_s` seconds, rejected ones counted."""

    def __init__(self, rate: float) -> None:
        self.allowed, self.window_s = window_shape(rate)
        self._arrivals: deque[float] = deque()

    def arrive(self, now: float) -> bool:
        """Record one arrival at `now`; True if it is within the limit."""
        arrivals = self._arrivals
        horizon = now - self.window_s
        while arrivals and arrivals[0] <= horizon:
            arrivals.popleft()
        admitted = len(arrivals) < self.allowed
        arrivals.append(now)
        return admitted


@dataclass
class KeyCounters:
    """What one app key did against the REST limit."""

    served: int = 0
    rejected: int = 0
    max_in_any_1s_window: int = 0
    _served_times: deque[float] = field(default_factory=deque, repr=False)

    def as_dict(self) -> dict[str, int]:
        return {
            "served": self.served,
            "rejected": self.rejected,
            "max_in_any_1s_window": self.max_in_any_1s_window,
        }


class RestLimiter:
    """The per-app-key REST window plus served/rejected counters.

    `arrive()` says whether the gateway lets a request through; `record()` books the outcome
    separately because a fault may still turn an admitted request into an EGW00201.
    """

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._windows: dict[str, SlidingWindow] = {}
        self._counters: dict[str, KeyCounters] = {}

    def now(self) -> float:
        return self._clock()

    def arrive(self, app_key: str, now: float | None = None) -> bool:
        window = self._windows.get(app_key)
        if window is None:
            window = self._windows[app_key] = SlidingWindow(self.rate)
        return window.arrive(self._clock() if now is None else now)

    def record(self, app_key: str, *, served: bool, now: float | None = None) -> None:
        counters = self._counters.get(app_key)
        if counters is None:
            counters = self._counters[app_key] = KeyCounters()
        if not served:
            counters.rejected += 1
            return
        at = self._clock() if now is None else now
        counters.served += 1
        times = counters._served_times
        horizon = at - STATS_WINDOW_S
        while times and times[0] <= horizon:
            times.popleft()
        times.append(at)
        counters.max_in_any_1s_window = max(counters.max_in_any_1s_window, len(times))

    def counters(self) -> dict[str, dict[str, int]]:
        return {key: c.as_dict() for key, c in self._counters.items()}

    def reset_counters(self) -> None:
        """Forget the counters (the windows stay: a reset must not open a burst)."""
        self._counters.clear()


class KeyedWindows:
    """One `SlidingWindow` per app key, for the 1/s limits of /oauth2/tokenP and Approval."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._windows: dict[str, SlidingWindow] = {}

    def arrive(self, app_key: str) -> bool:
        window = self._windows.get(app_key)
        if window is None:
            window = self._windows[app_key] = SlidingWindow(self.rate)
        return window.arrive(self._clock())
