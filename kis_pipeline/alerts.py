"""Failure alerts: one clear line per failed run, and a short JSON post to a webhook.

`KIS_ALERT_WEBHOOK` (optional) is any URL that accepts a JSON POST (Slack-compatible: the
message is also in a `text` field). A webhook that is down never breaks the pipeline: the post
is tried once with a short timeout and a failure is logged.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field

import httpx

log = logging.getLogger(__name__)

WEBHOOK_ENV = "KIS_ALERT_WEBHOOK"
POST_TIMEOUT_S = 5.0
MAX_ERROR_CHARS = 500


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


def notify(failure: RunFailure, *, webhook: str | None = None) -> bool:
    """Log the failure and post it to the webhook if one is configured; True if posted."""
    log.error("%s", failure.line())
    url = webhook if webhook is not None else os.environ.get(WEBHOOK_ENV, "").strip()
    if not url:
        return False
    try:
        response = httpx.post(url, json=failure.payload(), timeout=POST_TIMEOUT_S)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("could not post the failure alert to %s: %s", WEBHOOK_ENV, exc)
        return False
    return True
