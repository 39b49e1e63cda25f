"""Reconnect pacing: capped exponential backoff with jitter, reset only after a stable session.

KIS blocks an IP or app key that loops connect -> close (SPEC §5, §15.8), so there is always a
pause before a reconnect, it doubles while sessions keep failing (1 s, 2 s, 4 s ... capped at
60 s) and it resets only once a session has carried data for a while. "Equal jitter" (half
fixed, half random) spreads reconnecting clients without ever making the pause tiny.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    def __init__(
        self,
        base_s: float = 1.0,
        cap_s: float = 60.0,
        *,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if base_s <= 0 or cap_s < base_s:
            raise ValueError("backoff needs 0 < base_s <= cap_s")
        self.base_s = base_s
        self.cap_s = cap_s
        self._rng = rng
        self.failures = 0

    def next_delay(self) -> float:
        """The pause before the next attempt; each call counts one more failure."""
        ceiling = min(self.cap_s, self.base_s * (2 ** min(self.failures, 30)))
        self.failures += 1
        return ceiling / 2 + self._rng() * ceiling / 2

    def reset(self) -> None:
        self.failures = 0
