"""Fault injection for the simulated REST gateway, driven by `FaultSpec` and a seeded RNG.

One `FaultPlan` is drawn per market-data request (the /oauth2, /sim and master paths are
never faulted, so a run can always authenticate and report). The RNG is seeded from the
simulator seed, so one client issuing the same requests in the same order meets the same
faults. The WebSocket faults (`ws_drop_every_s`, `extra_column`) are read by the WebSocket
app from `state.config.faults`.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from kis_pipeline.simulator.config import FaultSpec

# A body-less gateway failure comes back either empty or as the HTML error page of the
# fronting web server: both are "HTTP 500 you cannot parse as JSON".
GATEWAY_ERROR_PAGE = (
    b"<html><head><title>500 Internal Server Error</title></head>"
    b"<body><center><h1>500 Internal Server Error</h1></center></body></html>"
)


@dataclass(frozen=True)
class FaultPlan:
    """What goes wrong with one request; the default plan is a healthy request."""

    delay_s: float = 0.0  # latency_ms plus, for a timeout, the hang
    egw00201: bool = False
    revoke_token: bool = False
    http500_body: bytes | None = None  # None = no injected HTTP 500
    truncate: bool = False

    @property
    def healthy(self) -> bool:
        return self == HEALTHY


HEALTHY = FaultPlan()


def truncate_body(body: bytes) -> bytes:
    """Cut a JSON body in half, as a dropped connection would."""
    return body[: max(1, len(body) // 2)]


class FaultInjector:
    """Draws `FaultPlan`s. Not thread-safe: call it from the server's event loop only."""

    def __init__(self, spec: FaultSpec, *, seed: int) -> None:
        self.spec = spec
        self._rng = random.Random(f"kis-sim-faults:{seed}")
        self._burst_left: dict[str, int] = {}
        self.counts: Counter[str] = Counter()

    @property
    def active(self) -> bool:
        spec = self.spec
        return any(
            (
                spec.http500,
                spec.egw00201,
                spec.latency_ms,
                spec.timeout,
                spec.truncated,
                spec.token_revoke,
            )
        )

    def _hit(self, probability: float) -> bool:
        # Draw only for enabled faults so that enabling one does not reshuffle the others.
        return probability > 0 and self._rng.random() < probability

    def plan(self, app_key: str) -> FaultPlan:
        if not self.active:
            return HEALTHY
        spec = self.spec
        delay = spec.latency_ms / 1000.0
        if self._hit(spec.timeout):
            self.counts["timeout"] += 1
            delay += spec.timeout_s
        egw = self._draw_burst(app_key)
        revoke = not egw and self._hit(spec.token_revoke)
        if revoke:
            self.counts["token_revoke"] += 1
        body: bytes | None = None
        if not (egw or revoke) and self._hit(spec.http500):
            self.counts["http500"] += 1
            body = b"" if self._rng.random() < 0.5 else GATEWAY_ERROR_PAGE
        truncate = not (egw or revoke or body is not None) and self._hit(spec.truncated)
        if truncate:
            self.counts["truncated"] += 1
        return FaultPlan(
            delay_s=delay, egw00201=egw, revoke_token=revoke, http500_body=body, truncate=truncate
        )

    def _draw_burst(self, app_key: str) -> bool:
        left = self._burst_left.get(app_key, 0)
        if left > 0:
            self._burst_left[app_key] = left - 1
            self.counts["egw00201"] += 1
            return True
        if self._hit(self.spec.egw00201):
            self._burst_left[app_key] = max(0, self.spec.egw00201_burst - 1)
            self.counts["egw00201"] += 1
            return True
        return False
