"""Alerts: one clear line per failed run or tick backlog, and a short JSON post to a webhook.

`KIS_ALERT_WEBHOOK` (optional) is any URL that accepts a JSON POST (Slack-compatible: the
message is also in a `text` field). A webhook that is down never breaks the pipeline: the post
is tried once with a short timeout and a failure is logged.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from typing import ClassVar, Protocol

import httpx

log = logging.getLogger(__name__)

WEBHOOK_ENV = "KIS_ALERT_WEBHOOK"
POST_TIMEOUT_S = 5.0
MAX_ERROR_CHARS = 500


class Alert(Protocol):
    level: ClassVar[int]

    def line(self) -> str: ...

    def payload(self) -> dict[str, object]: ...


@dataclass(frozen=True)
class FailedCheck:
    asset: str
    check: str
    partition: str | None = None


@dataclass(frozen=True)
class RunFailure:
    run_id: str
    job: str
    error: str
    failed_steps: list[str] = field(default_factory=list)
    partition: str | None = None
    failed_checks: list[FailedCheck] = field(default_factory=list)
    level: ClassVar[int] = logging.ERROR

    def line(self) -> str:
        """The one line an operator reads first."""
        where = f" partition {self.partition}" if self.partition else ""
        steps = f" in {', '.join(self.failed_steps)}" if self.failed_steps else ""
        checks = (
            f"; failed checks: {', '.join(f'{c.asset}.{c.check}' for c in self.failed_checks)}"
            if self.failed_checks
            else ""
        )
        error = " ".join(self.error.split())[:MAX_ERROR_CHARS]
        return f"run {self.run_id[:8]} of {self.job}{where} failed{steps}: {error}{checks}"

    def payload(self) -> dict[str, object]:
        return {"text": f"kis-pipeline: {self.line()}", **asdict(self)}


@dataclass(frozen=True)
class TickBacklog:
    """Sealed tick segments waiting for persistence, past the alert threshold."""

    segments: int
    bytes: int
    oldest_age_s: float
    threshold: int
    level: ClassVar[int] = logging.WARNING

    def line(self) -> str:
        return (
            f"tick persistence is behind: {self.segments} sealed segment(s) "
            f"({self.bytes / 1e6:.1f} MB) wait in the spool, the oldest for "
            f"{self.oldest_age_s / 60:.0f} min (alert at {self.threshold}); check that the "
            "Dagster daemon runs and tick_segment_job succeeds"
        )

    def payload(self) -> dict[str, object]:
        return {"text": f"kis-pipeline: {self.line()}", "alert": "tick_backlog", **asdict(self)}


def notify(alert: Alert, *, webhook: str | None = None) -> bool:
    """Log the alert and post it to the webhook if one is configured; True if posted."""
    log.log(alert.level, "%s", alert.line())
    url = webhook if webhook is not None else os.environ.get(WEBHOOK_ENV, "").strip()
    if not url:
        return False
    try:
        response = httpx.post(url, json=alert.payload(), timeout=POST_TIMEOUT_S)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("could not post the alert to %s: %s", WEBHOOK_ENV, exc)
        return False
    return True
