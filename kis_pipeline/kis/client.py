"""`KisClient`: authenticated, rate-limited, retried REST calls to KIS (or the simulator).

One `get()` is one logical KIS call: it waits for a slot of the app key's shared budget, sends
the request with a shared token, classifies the answer by HTTP status, `rt_cd` and `msg_cd`
(SPEC §4.3), and retries what is transient (EGW00201, gateway 5xx, timeouts, cut-off bodies)
with capped exponential backoff and full jitter. Every retry takes a new slot of the budget.
An expired token is refreshed once through the shared store, then the call is retried.

What cannot succeed is not retried: an HTTP 4xx that is not KIS's own error answer (a wrong
KIS_REST_URL), rejected credentials, and a host that refuses the connection. A refused
connection gets a few quick attempts, then the host counts as unreachable for a while, so the
other calls of a run fail at once instead of each retrying for minutes.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import os
import random
import ssl
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from kis_pipeline.kis.auth import IssuedToken, TokenStore, log_wait
from kis_pipeline.kis.errors import (
    BusinessError,
    HostUnreachable,
    KisApiError,
    KisConfigError,
    KisError,
    KisTransportError,
    ServerBusy,
    TokenExpired,
    error_for,
)
from kis_pipeline.kis.key_lane import KeyLane, lanes_for
from kis_pipeline.kis.ratelimit import RateLimiter
from kis_pipeline.kis.rejects import RejectLog
from kis_pipeline.kis.secrets import redact
from kis_pipeline.kis.settings import KisSettings

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
MAX_ATTEMPTS = 8
BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 8.0
# KIS asks for a longer pause after EGW00201 than after a transient server error (SPEC §5).
RATE_LIMITED_FACTOR = 2.0
TOKEN_TTL_FALLBACK_S = 86_400.0
USER_AGENT = "kis-pipeline"
# A refused connection is tried this often, `backoff_base_s` x 1, 2, ... apart (0.75 s in all
# by default): enough for a server that is just restarting, far from minutes of backoff.
CONNECT_ATTEMPTS = 3
# After that, calls to the host fail at once for this long, then one is tried again.
UNREACHABLE_HOLD_S = 30.0
# 4xx answers a proxy or a busy server may give for a moment; every other 4xx without KIS's
# error envelope means the URL does not lead to KIS's API, which no retry can change.
TRANSIENT_4XX = frozenset({408, 429})


@dataclass(frozen=True)
class KisResponse:
    """One successful KIS answer; values in `body` are still KIS's strings."""

    tr_id: str
    body: dict[str, Any]
    tr_cont: str = ""

    @property
    def msg_cd(self) -> str:
        return str(self.body.get("msg_cd", "")).strip()

    @property
    def has_more(self) -> bool:
        """True when the response header says another page follows (SPEC §6.3)."""
        return self.tr_cont in ("F", "M")

    def output(self, name: str = "output") -> list[dict[str, str]]:
        """The named output container as a list, whether KIS sent an object or a list."""
        value = self.body.get(name)
        if value is None:
            return []
        if isinstance(value, dict):
            return [value]
        if isinstance(value, list):
            return [row for row in value if isinstance(row, dict)]
        return []


@dataclass
class ClientStats:
    """What a client did: REST calls sent (retries included), retries, time spent waiting.

    `token_wait_s` is time spent waiting for KIS's one-token-a-minute rule (after a token was
    rejected); `token_wait_until` is when the latest such wait ends (epoch s; past once over).
    """

    calls: int = 0
    retries: int = 0
    limiter_wait_s: float = 0.0
    token_issues: int = 0
    token_wait_s: float = 0.0
    token_wait_until: float = 0.0
    calls_by_tr_id: Counter[str] = field(default_factory=Counter)
    calls_by_key: Counter[str] = field(default_factory=Counter)  # by `KisSettings.key_label`
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": self.calls,
                "retries": self.retries,
                "limiter_wait_s": round(self.limiter_wait_s, 3),
                "token_issues": self.token_issues,
                "token_wait_s": round(self.token_wait_s, 3),
                "token_wait_until": self.token_wait_until,
                "calls_by_tr_id": dict(self.calls_by_tr_id),
                "calls_by_key": dict(self.calls_by_key),
            }


@functools.cache
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """httpx's default verifying context (which honours SSL_CERT_FILE and SSL_CERT_DIR, hence the
    key), made once: loading the CA bundle took about 20 ms a client, and every asset of a run
    makes its own client."""
    return httpx.create_ssl_context()


class KisClient:
    """Talks to one KIS environment with one app key. Thread-safe; close() when done."""

    def __init__(
        self,
        settings: KisSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        limiter: RateLimiter | None = None,
        tokens: TokenStore | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_attempts: int = MAX_ATTEMPTS,
        backoff_base_s: float = BACKOFF_BASE_S,
        rejects: RejectLog | None = None,
    ) -> None:
        self.settings = settings
        # Records the endpoint parsers refused (`kis.rejects`); flushed to its sink on close.
        self.rejects = RejectLog() if rejects is None else rejects
        base_url = settings.require_rest_url()
        self._lanes = lanes_for(settings, on_wait=self._token_wait, limiter=limiter, tokens=tokens)
        self.limiter = self._lanes[0].limiter
        self.tokens = self._lanes[0].tokens
        self._turns = itertools.count()
        self.stats = ClientStats()
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base_s
        self._secrets = tuple(
            secret
            for lane in self._lanes
            for secret in (lane.settings.app_key, lane.settings.app_secret)
        )
        # (scheme, host, port) -> (monotonic time until which calls fail at once, the message)
        self._unreachable: dict[tuple[str, str, int | None], tuple[float, str]] = {}
        self._http = httpx.Client(
            base_url=base_url,
            transport=transport,
            timeout=timeout,
            headers={"user-agent": USER_AGENT},
            verify=_tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")),
        )

    def __enter__(self) -> KisClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.rejects.flush()
        finally:
            self._http.close()

    def __repr__(self) -> str:
        return f"KisClient(env={self.settings.env!r}, rest_url={self.settings.rest_url!r})"

    # -- public calls -------------------------------------------------------------------------

    def get(
        self, path: str, tr_id: str, params: Mapping[str, str], *, tr_cont: str = ""
    ) -> KisResponse:
        """One KIS GET call; raises a `KisError` subclass once retries are exhausted."""
        params = {k: str(v) for k, v in params.items()}
        refreshed = False
        attempt = 0
        while True:
            # The keys take turns, call by call (a retry too: another key may have room).
            lane = self._lanes[next(self._turns) % len(self._lanes)]
            token = lane.access_token(self._issue_access_token)
            headers = {
                "content-type": "application/json; charset=utf-8",
                "authorization": f"Bearer {token.value}",
                **lane.credentials(),
                "tr_id": tr_id,
                "tr_cont": tr_cont,
                "custtype": "P",
            }
            try:
                response = self._send(lane, "GET", path, tr_id, params=params, headers=headers)
                return self._envelope(response, tr_id, params)
            except TokenExpired:
                if refreshed:
                    raise
                refreshed = True
                lane.refresh(token.value, self._issue_access_token)
            except KisError as exc:
                attempt += 1
                if not exc.retryable or attempt >= self._max_attempts:
                    raise
                self._backoff(exc, attempt)

    def download(self, url: str) -> bytes:
        """Fetch a file outside the API gateway (stock master files); retried, not rate-limited."""
        for attempt in range(1, self._max_attempts + 1):
            try:
                response = self._request(
                    "GET", url, url, setting="KIS_MASTER_URL", lane=None, timeout=60.0
                )
            except KisTransportError as exc:
                if not exc.retryable or attempt == self._max_attempts:
                    raise
                self._backoff(exc, attempt)
                continue
            if response.status_code == 200:
                return response.content
            if response.status_code < 500 or attempt == self._max_attempts:
                hint = "; check KIS_MASTER_URL" if response.status_code == 404 else ""
                raise KisTransportError(
                    f"download of {url} failed: HTTP {response.status_code}{hint}"
                )
            self._backoff(ServerBusy("HTTP", str(response.status_code)), attempt)
        raise AssertionError("unreachable")

    def approval_key(self, *, stale: str | None = None) -> str:
        """The WebSocket approval key (SPEC §3.3), shared through the token store.

        `stale` is a key KIS refused: a new one is issued unless another process already did.
        """
        lane = self._lanes[0]
        return lane.tokens.approval_key(lambda: self._issue_approval_key(lane), stale=stale).value

    # -- tokens -------------------------------------------------------------------------------

    def _token_wait(self, seconds: float, message: str) -> None:
        with self.stats._lock:
            self.stats.token_wait_s += seconds
            self.stats.token_wait_until = time.time() + seconds
        log_wait(seconds, message)

    def _issue_access_token(self, lane: KeyLane) -> IssuedToken:
        body = self._post_auth(
            lane, "/oauth2/tokenP", {"grant_type": "client_credentials", **lane.credentials()}
        )
        value = body.get("access_token")
        if not isinstance(value, str) or not value:
            raise KisTransportError("token answer without access_token")
        now = time.time()
        raw_ttl = str(body.get("expires_in", "")).strip()
        try:
            # "0" is a real answer (a token at the end of its life), unlike a missing field.
            ttl = float(raw_ttl) if raw_ttl else TOKEN_TTL_FALLBACK_S
        except ValueError:
            ttl = TOKEN_TTL_FALLBACK_S
        with self.stats._lock:
            self.stats.token_issues += 1
        log.info("issued a new KIS access token for %s (valid %.0f s)", lane.label, ttl)
        return IssuedToken(value=value, issued_at=now, expires_at=now + ttl)

    def _issue_approval_key(self, lane: KeyLane) -> IssuedToken:
        body = self._post_auth(
            lane,
            "/oauth2/Approval",
            {"grant_type": "client_credentials", **lane.credentials("secretkey")},
        )
        value = body.get("approval_key")
        if not isinstance(value, str) or not value:
            raise KisTransportError("approval answer without approval_key")
        now = time.time()
        # Valid 24 h (SPEC §3.3); checked only when subscribing.
        return IssuedToken(value=value, issued_at=now, expires_at=now + TOKEN_TTL_FALLBACK_S)

    def _post_auth(self, lane: KeyLane, path: str, payload: dict[str, str]) -> dict[str, Any]:
        for attempt in range(1, self._max_attempts + 1):
            try:
                response = self._send(lane, "POST", path, path, json_body=payload)
                body = self._kis_body(response)
                code = str(body.get("error_code") or body.get("msg_cd") or "")
                if response.status_code == 200 and not code.startswith(("EGW", "OPS")):
                    return body
                message = str(body.get("error_description") or body.get("msg1") or "")
                if not code:
                    raise ServerBusy(f"HTTP {response.status_code}", "no error code", tr_id=path)
                raise error_for(code, message, tr_id=path, http_status=response.status_code)
            except KisError as exc:
                # EGW00133 waits a whole minute: the token store handles it, not this loop.
                if not exc.retryable or attempt == self._max_attempts or _is_throttle(exc):
                    raise
                self._backoff(exc, attempt)
        raise AssertionError("unreachable")

    # -- transport ----------------------------------------------------------------------------

    def _send(
        self,
        lane: KeyLane,
        method: str,
        path: str,
        label: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        return self._request(
            method,
            path,
            label,
            setting="KIS_REST_URL",
            lane=lane,
            params=params,
            headers=headers,
            json=json_body,
        )

    def _request(
        self,
        method: str,
        url: str,
        label: str,
        *,
        setting: str,
        lane: KeyLane | None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request, a slot of `lane`'s budget first (None: not rate-limited, the master
        files); transport errors as ours.

        A refused connection is retried `CONNECT_ATTEMPTS` times here (it never reached KIS,
        so it costs KIS nothing), then the host is held unreachable for `UNREACHABLE_HOLD_S`.
        """
        target = self._http.base_url.join(url)
        origin = (target.scheme, target.host, target.port)
        server = f"{target.scheme}://{target.netloc.decode()}"
        held = self._unreachable.get(origin)
        if held is not None and time.monotonic() < held[0]:
            raise HostUnreachable(held[1])
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            if lane is not None:
                waited = lane.limiter.acquire()
                with self.stats._lock:
                    self.stats.calls += 1
                    self.stats.limiter_wait_s += waited
                    self.stats.calls_by_tr_id[label] += 1
                    self.stats.calls_by_key[lane.label] += 1
            try:
                return self._http.request(method, url, **kwargs)
            except httpx.TimeoutException as exc:
                raise KisTransportError(
                    f"{label}: KIS did not answer in time ({type(exc).__name__})"
                ) from exc
            except httpx.ConnectError as exc:
                if attempt < CONNECT_ATTEMPTS:
                    time.sleep(self._backoff_base * attempt)
                    continue
                message = (
                    f"cannot reach {server} ({self._reason(exc)}); check that KIS (or the "
                    f"simulator) runs there, the network, or {setting}"
                )
                self._unreachable[origin] = (time.monotonic() + UNREACHABLE_HOLD_S, message)
                raise HostUnreachable(message) from exc
            except httpx.TransportError as exc:
                raise KisTransportError(
                    f"{label}: lost the connection to {server} ({self._reason(exc)}); "
                    f"check the network or {setting}"
                ) from exc
        raise AssertionError("unreachable")

    def _reason(self, exc: Exception) -> str:
        """What the OS said ("Connection refused"), never a secret."""
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, OSError) and cause.strerror:
                return redact(cause.strerror, self._secrets).lower()
            cause = cause.__cause__ or cause.__context__
        return redact(str(exc), self._secrets) or type(exc).__name__

    def _kis_body(self, response: httpx.Response) -> dict[str, Any]:
        """The JSON object of an answer; a 3xx or 4xx that is not KIS's own error is an error.

        KIS answers its errors in JSON with `msg_cd` or `error_code` (SPEC §4.3), so a 4xx
        without one (an HTML 404 page, a proxy's 403) or a redirect did not come from KIS's
        API: the URL is wrong, and retrying cannot help.
        """
        foreign = 300 <= response.status_code < 500 and response.status_code not in TRANSIENT_4XX
        try:
            body = _json(response)
        except KisTransportError:
            if foreign:
                raise self._not_kis(response) from None
            raise
        if foreign and not (body.get("msg_cd") or body.get("error_code")):
            raise self._not_kis(response)
        return body

    def _not_kis(self, response: httpx.Response) -> KisConfigError:
        status = response.status_code
        if status == 404:
            what = "no KIS API at this path"
        elif status < 400:
            what = f"redirected to {response.headers.get('location', '?')}"
        else:
            what = "not an answer of KIS's API"
        return KisConfigError(
            f"{response.request.url.path}: HTTP {status} from {self.settings.rest_url}, {what}; "
            "check KIS_REST_URL (the KIS host and port only, like "
            "https://openapi.koreainvestment.com:9443)"
        )

    def _envelope(
        self, response: httpx.Response, tr_id: str, params: Mapping[str, str]
    ) -> KisResponse:
        status = response.status_code
        try:
            body = self._kis_body(response)
        except KisTransportError:
            if status >= 500:
                raise ServerBusy(
                    f"HTTP {status}",
                    "gateway error without a body",
                    tr_id=tr_id,
                    params=params,
                    http_status=status,
                ) from None
            raise
        rt_cd = str(body.get("rt_cd", "")).strip()
        msg_cd = str(body.get("msg_cd") or body.get("error_code") or "").strip()
        if rt_cd == "0" and status == 200:
            return KisResponse(
                tr_id=tr_id, body=body, tr_cont=response.headers.get("tr_cont", "").strip()
            )
        message = str(body.get("msg1") or body.get("error_description") or "")
        if not msg_cd:
            if status >= 500 or status in TRANSIENT_4XX:
                raise ServerBusy(
                    f"HTTP {status}", "server error", tr_id=tr_id, params=params, http_status=status
                )
            raise BusinessError(
                f"HTTP {status}",
                message or "unexpected answer",
                tr_id=tr_id,
                params=params,
                http_status=status,
            )
        raise error_for(msg_cd, message, tr_id=tr_id, params=params, http_status=status)

    def _backoff(self, exc: KisError, attempt: int) -> None:
        rate_limited = isinstance(exc, KisApiError) and exc.msg_cd == "EGW00201"
        base = self._backoff_base * (RATE_LIMITED_FACTOR if rate_limited else 1.0)
        delay = random.uniform(0, min(BACKOFF_CAP_S, base * 2 ** (attempt - 1)))
        with self.stats._lock:
            self.stats.retries += 1
        log.warning("retry %d after %s (sleeping %.2f s)", attempt, exc, delay)
        time.sleep(delay)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        raise KisTransportError(
            f"{response.request.url.path}: body is not complete JSON (HTTP {response.status_code}, "
            f"{len(response.content)} bytes)"
        ) from None
    if not isinstance(body, dict):
        raise KisTransportError(f"{response.request.url.path}: body is not a JSON object")
    return body


def _is_throttle(exc: KisError) -> bool:
    return isinstance(exc, KisApiError) and exc.msg_cd == "EGW00133"
