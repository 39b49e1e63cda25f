"""One app key's share of a client: its settings, its own slice of the request budget and its
own access token.

KIS limits each app key on its own (SPEC §5): a budget of requests per second, one token
issuance a minute, one WebSocket session. A client given several keys (`KIS_APP_KEYS`) takes
turns between them, each key with its limiter and token store named after the key (`key_id`),
so N keys send up to N times one key's rate and every process sharing a key shares its budget.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kis_pipeline.kis.auth import IssuedToken, TokenStore, WaitNotice
from kis_pipeline.kis.ratelimit import RateLimiter
from kis_pipeline.kis.secrets import Secret
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.kis.shared_state import rate_limiter, token_store

Issue = Callable[["KeyLane"], IssuedToken]


@dataclass
class KeyLane:
    settings: KisSettings
    limiter: RateLimiter
    tokens: TokenStore
    _token: IssuedToken | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def label(self) -> str:
        return self.settings.key_label

    @property
    def secrets(self) -> tuple[Secret, Secret]:
        return self.settings.app_key, self.settings.app_secret

    def credentials(self, secret_name: str = "appsecret") -> dict[str, str]:
        """The key and its secret as KIS's headers and auth bodies name them."""
        return {
            "appkey": self.settings.app_key.reveal(),
            secret_name: self.settings.app_secret.reveal(),
        }

    def access_token(self, issue: Issue) -> IssuedToken:
        """The key's token, from the store (issued through `issue` when none is valid)."""
        with self._lock:
            token = self._token
            if token is None or time.time() >= token.refresh_at:
                token = self._token = self.tokens.access_token(lambda: issue(self))
            return token

    def refresh(self, rejected: str, issue: Issue) -> None:
        """A new token after KIS refused `rejected` (unless another process already has one)."""
        with self._lock:
            self._token = self.tokens.access_token(lambda: issue(self), stale=rejected)


def lanes_for(
    settings: KisSettings,
    *,
    on_wait: WaitNotice,
    limiter: RateLimiter | None = None,
    tokens: TokenStore | None = None,
) -> list[KeyLane]:
    """One lane per app key of `settings`; `limiter` and `tokens` (tests) replace the first's."""
    lanes = []
    for index, each in enumerate(settings.per_key()):
        given = (limiter, tokens) if index == 0 else (None, None)
        lanes.append(
            KeyLane(
                each,
                given[0] or rate_limiter(each),
                given[1] or token_store(each, on_wait=on_wait),
            )
        )
    return lanes
