"""Access tokens and WebSocket approval keys, shared by every process that uses an app key.

KIS issues at most one token per minute per app key (EGW00133) and every issuance alerts the
account holder, so a token is issued once and reused by all processes until shortly before it
expires. `FileTokenStore` keeps it in a 0600 file under `KIS_STATE_DIR` and issues single-flight
under a file lock; `RedisTokenStore` (`redis_state`) does the same in Redis for workers on
several hosts. The app secret is never stored: only tokens and their expiry times are.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from kis_pipeline.common.files import file_lock, read_or_none, write_private
from kis_pipeline.kis.errors import TokenIssueThrottled

log = logging.getLogger(__name__)

# Real KIS: one issuance per minute per app key (SPEC §3.1).
MIN_ISSUE_INTERVAL_S = 60.0
# Refresh an hour before expiry (SPEC §3.1), or a tenth of the lifetime for short-lived tokens.
REFRESH_MARGIN_S = 3600.0
MAX_THROTTLED_RETRIES = 3


@dataclass(frozen=True)
class IssuedToken:
    value: str
    issued_at: float  # epoch seconds
    expires_at: float

    def __repr__(self) -> str:
        return f"IssuedToken(value='***', issued_at={self.issued_at}, expires_at={self.expires_at})"

    @property
    def refresh_at(self) -> float:
        lifetime = max(self.expires_at - self.issued_at, 0.0)
        return self.expires_at - min(REFRESH_MARGIN_S, lifetime * 0.1)


Issuer = Callable[[], IssuedToken]
# Told how many seconds a caller will wait before it may issue a token, and a sentence saying
# why, for the log or a progress line.
WaitNotice = Callable[[float, str], None]


def log_wait(seconds: float, message: str) -> None:
    log.warning("%s", message)


class TokenStore(Protocol):
    """Where the tokens of one app key live. `stale` is a value the caller saw rejected."""

    def access_token(self, issue: Issuer, *, stale: str | None = None) -> IssuedToken: ...

    def approval_key(self, issue: Issuer, *, stale: str | None = None) -> IssuedToken: ...


class LockedTokenStore:
    """Single-flight issuance over some shared storage; subclasses say where and how to lock.

    The state is one JSON object: per kind ("access", "approval") the token held and when one
    was last issued, on `clock`'s timeline.
    """

    def __init__(
        self,
        *,
        min_issue_interval: float = MIN_ISSUE_INTERVAL_S,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: WaitNotice = log_wait,
    ) -> None:
        self._interval = min_issue_interval
        self._clock = clock
        self._sleep = sleep
        self._on_wait = on_wait

    def _locked(self) -> contextlib.AbstractContextManager[Callable[[], None]]:
        """Hold the store's lock for the block; what it yields renews a lock that can expire."""
        raise NotImplementedError

    def _read(self) -> bytes | None:
        raise NotImplementedError

    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    def access_token(self, issue: Issuer, *, stale: str | None = None) -> IssuedToken:
        return self._get("access", issue, stale, throttled_interval=self._interval)

    def approval_key(self, issue: Issuer, *, stale: str | None = None) -> IssuedToken:
        # Approval keys have no per-minute issuance limit, only the shared request budget.
        return self._get("approval", issue, stale, throttled_interval=0.0)

    def _get(
        self, kind: str, issue: Issuer, stale: str | None, *, throttled_interval: float
    ) -> IssuedToken:
        with self._locked() as renew:
            data = self._load()
            held = data.get(kind)
            token = IssuedToken(**held) if isinstance(held, dict) else None
            if token and token.value != stale and self._clock() < token.refresh_at:
                return token
            last_issue = float(data.get(f"{kind}_last_issue", 0.0))
            # Whoever waits holds the lock: every caller that saw the same rejected token
            # waits for this one issuance and then takes the token it made.
            why = _why(kind, token, stale)
            for attempt in range(MAX_THROTTLED_RETRIES + 1):
                wait = last_issue + throttled_interval - self._clock()
                if wait > 0:
                    self._on_wait(
                        wait,
                        f"{why}; KIS issues one access token a minute per app key, so the "
                        f"next one can be issued in {wait:.0f} s",
                    )
                    renew()
                    self._sleep(wait)
                try:
                    renew()
                    token = issue()
                    break
                except TokenIssueThrottled:
                    # Another host issued for this key: wait out the minute, as KIS asks.
                    if attempt == MAX_THROTTLED_RETRIES:
                        raise
                    last_issue = self._clock()
                    why = "KIS refused a new token (EGW00133: another process or host issued one)"
            data[kind] = asdict(token)
            data[f"{kind}_last_issue"] = self._clock()
            self._write(json.dumps(data).encode())
            return token

    def _load(self) -> dict[str, object]:
        raw = self._read()
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            return {}  # torn or foreign: issue afresh rather than fail every run
        return data if isinstance(data, dict) else {}


class FileTokenStore(LockedTokenStore):
    """Tokens in `<state_dir>/tokens-<key_id>.json` (mode 0600), issued under a file lock."""

    def __init__(
        self,
        state_dir: Path,
        key_id: str,
        *,
        min_issue_interval: float = MIN_ISSUE_INTERVAL_S,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: WaitNotice = log_wait,
    ) -> None:
        super().__init__(
            min_issue_interval=min_issue_interval, clock=clock, sleep=sleep, on_wait=on_wait
        )
        self.path = state_dir / f"tokens-{key_id}.json"
        self._lock = state_dir / f"tokens-{key_id}.lock"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[Callable[[], None]]:
        with file_lock(self._lock):
            yield lambda: None  # an flock ends with its holder, never on a timer

    def _read(self) -> bytes | None:
        return read_or_none(self.path)

    def _write(self, data: bytes) -> None:
        write_private(self.path, data)


def _why(kind: str, held: IssuedToken | None, stale: str | None) -> str:
    if held is not None and held.value == stale:
        return f"KIS rejected the {kind} token (revoked or expired early)"
    if held is not None:
        return f"the {kind} token is due for renewal"
    return f"a new {kind} token is needed"


class MemoryTokenStore:
    """Tokens held by one process (tests and one-off scripts)."""

    def __init__(self) -> None:
        self._tokens: dict[str, IssuedToken] = {}

    def access_token(self, issue: Issuer, *, stale: str | None = None) -> IssuedToken:
        return self._get("access", issue, stale)

    def approval_key(self, issue: Issuer, *, stale: str | None = None) -> IssuedToken:
        return self._get("approval", issue, stale)

    def _get(self, kind: str, issue: Issuer, stale: str | None) -> IssuedToken:
        token = self._tokens.get(kind)
        if token is None or token.value == stale or time.time() >= token.refresh_at:
            token = self._tokens[kind] = issue()
        return token
