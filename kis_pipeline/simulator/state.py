"""`SimState`: what the simulated KIS remembers between requests, shared by REST and WebSocket.

It owns the credentials the gateway accepts, the access tokens and WebSocket approval keys it
issued, the per-app-key limits (`limits.py`), the fault injector (`faults.py`), the WebSocket
session registry and the counters behind `/sim/stats`. Everything here runs on the server's
event loop, which is also where `snapshot()` must run (`SimulatorServer.stats()` sees to it);
the lock keeps the auth tables consistent should a caller use another thread anyway.

Auth follows SPEC §3 with wall-clock time (the market may run on a fixed `config.now`, but
token lifetimes must pass for real): a token lives `config.token_lifetime_s`; asking again
within 6 hours returns the same token; at most one token call per
`config.token_issue_interval_s` per app key succeeds (EGW00133 otherwise); a revoked token is
invalid (EGW00121). The gateway accepts the built-in simulator key and any other non-empty
app key / app secret pair; the first secret seen for a key is the only one accepted after.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import json
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# The built-in credentials of `KIS_ENV=sim` are defined once, beside the client's defaults.
from kis_pipeline.common.clock import KST
from kis_pipeline.kis.settings import SIM_APP_KEY, SIM_APP_SECRET
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.faults import FaultInjector
from kis_pipeline.simulator.limits import KeyedWindows, RestLimiter

if TYPE_CHECKING:
    from kis_pipeline.simulator.market import Market


SAME_TOKEN_WINDOW_S = 6 * 3600.0  # SPEC §3.1: re-requests within 6 h get the same token
APPROVAL_LIFETIME_S = 86_400.0
MAX_APP_KEY_LEN = 64


@dataclass
class TokenRecord:
    token: str
    app_key: str
    issued_at: float  # wall-clock epoch seconds
    expires_at: float
    revoked: bool = False

    def expired(self, now: float) -> bool:
        return now >= self.expires_at

    def expires_kst(self) -> str:
        return dt.datetime.fromtimestamp(self.expires_at, KST).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class AuthError:
    """A refused auth call: the gateway code and its message."""

    code: str
    message: str


MESSAGES = {
    "EGW00102": "AppKey는 필수입니다.",
    "EGW00103": "유효하지 않은 AppKey입니다.",
    "EGW00104": "AppSecret은 필수입니다.",
    "EGW00105": "유효하지 않은 AppSecret입니다.",
    "EGW00115": "권한부여 타입(grant_type)은 필수입니다.",
    "EGW00116": "지원하지 않는 권한부여 타입(grant_type)입니다.",
    "EGW00121": "유효하지 않은 token 입니다.",
    "EGW00122": "token을 찾을 수 없습니다.",
    "EGW00123": "기간이 만료된 token 입니다.",
    "EGW00133": "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)",
    "EGW00201": "초당 거래건수를 초과하였습니다.",
}


def auth_error(code: str) -> AuthError:
    return AuthError(code, MESSAGES[code])


@dataclass
class WsSessionStats:
    """What one WebSocket session was sent: a client that lost records at a drop or a kill
    can be measured against it (its `peer` is the client's own local address)."""

    app_key: str
    peer: str
    opened_at: float  # wall-clock epoch seconds
    closed_at: float | None = None
    end: str | None = None  # why the server dropped it; None: the client closed it
    # The most registrations it held at once: never above the cap, which tests check here.
    registrations_peak: int = 0
    records: Counter[tuple[str, str]] = field(default_factory=Counter)  # (tr, symbol) -> sent

    def report(self, number: int) -> dict[str, Any]:
        per_tr: dict[str, dict[str, int]] = {}
        for (tr_id, symbol), n in sorted(self.records.items()):
            per_tr.setdefault(tr_id, {})[symbol] = n
        return {
            "session": number,
            "app_key": self.app_key,
            "peer": self.peer,
            "opened_at": self.opened_at,
            "closed_at": self.closed_at,
            "end": self.end,
            "registrations_peak": self.registrations_peak,
            "ticks": per_tr,
            "ticks_total": sum(sum(per.values()) for per in per_tr.values()),
        }


class SimStats:
    """Counters that are not limiter counters: tokens, approval keys, WebSocket ticks."""

    def __init__(self) -> None:
        self.tokens_issued: Counter[str] = Counter()
        self.tokens_reused: Counter[str] = Counter()
        self.approval_keys_issued: Counter[str] = Counter()
        self.ws_sessions_opened: Counter[str] = Counter()
        self.ticks: dict[str, Counter[str]] = {}
        self.ws_sessions: dict[int, WsSessionStats] = {}

    def record_ticks(
        self, tr_id: str, symbol: str, count: int = 1, *, session: int | None = None
    ) -> None:
        """Called by the WebSocket app for every record it sends (`session`: its number)."""
        per_symbol = self.ticks.get(tr_id)
        if per_symbol is None:
            per_symbol = self.ticks[tr_id] = Counter()
        per_symbol[symbol] += count
        entry = self.ws_sessions.get(session) if session is not None else None
        if entry is not None:
            entry.records[(tr_id, symbol)] += count


class SimState:
    """Shared state of one simulator instance (see the module docstring)."""

    def __init__(
        self,
        config: SimConfig,
        market: Market,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.market = market
        self._clock = clock
        self._lock = threading.Lock()
        self.rest_limiter = RestLimiter(config.rate_limit, clock=monotonic)
        self.token_windows = KeyedWindows(1.0, clock=monotonic)
        self.approval_windows = KeyedWindows(1.0, clock=monotonic)
        self.faults = FaultInjector(config.faults, seed=config.seed)
        self.stats = SimStats()
        self._secret_digests: dict[str, bytes] = {SIM_APP_KEY: _digest(SIM_APP_SECRET)}
        self._tokens: dict[str, TokenRecord] = {}
        self._current_token: dict[str, TokenRecord] = {}
        self._last_token_call: dict[str, float] = {}
        self._approvals: dict[str, tuple[str, float]] = {}
        self._ws_sessions: set[str] = set()
        self._ws_numbers = itertools.count(1)
        # The WebSocket app's tick tapes (ticks.TickGenerator), which REST's recent executions
        # read; attached by the app, or made on first use when there is none.
        self.tick_generator: Any = None

    def now(self) -> float:
        """Wall-clock seconds as the auth layer sees them."""
        return self._clock()

    # ---- credentials ---------------------------------------------------------------------

    def check_credentials(self, app_key: str, app_secret: str) -> AuthError | None:
        """Gateway check of an app key / secret pair; registers a new pair on first sight."""
        if not app_key:
            return auth_error("EGW00102")
        if len(app_key) > MAX_APP_KEY_LEN or not app_key.isprintable() or " " in app_key:
            return auth_error("EGW00103")
        if not app_secret:
            return auth_error("EGW00104")
        digest = _digest(app_secret)
        with self._lock:
            known = self._secret_digests.setdefault(app_key, digest)
        if not secrets.compare_digest(known, digest):
            return auth_error("EGW00105")
        return None

    # ---- access tokens -------------------------------------------------------------------

    def token_throttled(self, app_key: str) -> AuthError | None:
        """EGW00133 while the last successful token call of `app_key` is too recent."""
        last = self._last_token_call.get(app_key)
        if last is not None and self._clock() - last < self.config.token_issue_interval_s:
            return auth_error("EGW00133")
        return None

    def issue_token(self, app_key: str) -> TokenRecord | AuthError:
        """POST /oauth2/tokenP for an already checked key: same token within 6 h, else new.

        Every successful call, a reused token included, starts a new issuance interval.
        """
        with self._lock:
            throttled = self.token_throttled(app_key)
            if throttled is not None:
                return throttled
            now = self._clock()
            self._last_token_call[app_key] = now
            current = self._current_token.get(app_key)
            if (
                current is not None
                and not current.revoked
                and not current.expired(now)
                # KIS tokens live 24 h, so a reused one always has 18 h or more left; keep
                # that proportion when tests shorten the lifetime.
                and now - current.issued_at
                < min(SAME_TOKEN_WINDOW_S, self.config.token_lifetime_s / 4)
            ):
                self.stats.tokens_reused[app_key] += 1
                return current
            record = TokenRecord(
                token=_new_jwt(now, self.config.token_lifetime_s),
                app_key=app_key,
                issued_at=now,
                expires_at=now + self.config.token_lifetime_s,
            )
            self._tokens[record.token] = record
            self._current_token[app_key] = record
            self.stats.tokens_issued[app_key] += 1
            self._prune_tokens(now)
            return record

    def authenticate(self, app_key: str, token: str) -> AuthError | None:
        """Check the bearer token of a market-data call made with `app_key`."""
        if not token:
            return auth_error("EGW00122")
        record = self._tokens.get(token)
        if record is None or record.revoked or record.app_key != app_key:
            return auth_error("EGW00121")
        if record.expired(self._clock()):
            return auth_error("EGW00123")
        return None

    def revoke_token(self, app_key: str, token: str) -> AuthError | None:
        """POST /oauth2/revokeP (also the `token_revoke` fault): the token stops working and
        the next tokenP issues a fresh one."""
        with self._lock:
            record = self._tokens.get(token)
            if record is None or record.revoked or record.app_key != app_key:
                return auth_error("EGW00121")
            record.revoked = True
            if self._current_token.get(app_key) is record:
                del self._current_token[app_key]
        return None

    def _prune_tokens(self, now: float) -> None:
        stale = [t for t, r in self._tokens.items() if r.expired(now) and now - r.expires_at > 3600]
        for token in stale:
            del self._tokens[token]

    # ---- WebSocket approval keys and sessions ------------------------------------------

    def issue_approval_key(self, app_key: str) -> str:
        key = str(uuid.uuid4())
        with self._lock:
            self._approvals[key] = (app_key, self._clock() + APPROVAL_LIFETIME_S)
            self.stats.approval_keys_issued[app_key] += 1
        return key

    def approval_app_key(self, approval_key: str) -> str | None:
        """The app key an approval key was issued to, or None if unknown or expired."""
        entry = self._approvals.get(approval_key)
        if entry is None or self._clock() >= entry[1]:
            return None
        return entry[0]

    def open_ws_session(self, app_key: str) -> bool:
        """Claim the one WebSocket session of `app_key`; False if one is open (OPSP8996)."""
        with self._lock:
            if app_key in self._ws_sessions:
                return False
            self._ws_sessions.add(app_key)
            self.stats.ws_sessions_opened[app_key] += 1
            return True

    def close_ws_session(self, app_key: str) -> None:
        with self._lock:
            self._ws_sessions.discard(app_key)

    def recent_executions(self, symbol: str, venue: str = "J") -> list[str]:
        """`symbol`'s newest trade records on `venue`'s WebSocket tape, oldest first."""
        if self.tick_generator is None:
            from kis_pipeline.simulator.ticks import TickGenerator

            self.tick_generator = TickGenerator(self.market, self.config.tick_rate)
        return list(self.tick_generator.recent_executions(symbol, venue))

    def ws_session_started(self, app_key: str, peer: str) -> int:
        """Number a session that holds `app_key`, for its per-session counts in /sim/stats."""
        with self._lock:
            number = next(self._ws_numbers)
            self.stats.ws_sessions[number] = WsSessionStats(app_key, peer, self.now())
            return number

    def ws_session_registered(self, number: int, registrations: int) -> None:
        """Session `number` now holds `registrations` feeds (its peak is kept)."""
        with self._lock:
            entry = self.stats.ws_sessions.get(number)
            if entry is not None:
                entry.registrations_peak = max(entry.registrations_peak, registrations)

    def ws_session_ended(self, number: int, end: str | None) -> None:
        with self._lock:
            entry = self.stats.ws_sessions.get(number)
            if entry is not None and entry.closed_at is None:
                entry.closed_at, entry.end = self.now(), end

    # ---- stats ---------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything /sim/stats reports, as plain JSON-able data. Call it on the server's
        event loop (`SimulatorServer.stats()` does) so that no counter moves meanwhile."""
        with self._lock:
            stats = self.stats
            ticks = {tr: dict(per) for tr, per in stats.ticks.items()}
            return {
                "rest": self.rest_limiter.counters(),
                "rate_limit": self.config.rate_limit,
                "tokens_issued": dict(stats.tokens_issued),
                "tokens_issued_total": sum(stats.tokens_issued.values()),
                "tokens_reused": dict(stats.tokens_reused),
                "approval_keys_issued": dict(stats.approval_keys_issued),
                "ws_sessions_open": sorted(self._ws_sessions),
                "ws_sessions_opened": dict(stats.ws_sessions_opened),
                "ticks": ticks,
                "ticks_total": sum(sum(per.values()) for per in ticks.values()),
                "ws_sessions": [e.report(n) for n, e in sorted(stats.ws_sessions.items())],
                # Trades per symbol on the tapes this session: what a stream could have got
                # (KRX's; per venue code, J, NX and UN, in `executions_by_venue`).
                "executions": self.tick_generator.executions() if self.tick_generator else {},
                "executions_by_venue": {
                    venue: self.tick_generator.executions(venue) if self.tick_generator else {}
                    for venue in ("J", "NX", "UN")
                },
                "faults": dict(self.faults.counts),
                "faults_config": self.config.faults.describe(),
            }

    def reset_stats(self) -> None:
        """Zero the counters; tokens, sessions and limiter windows are kept."""
        with self._lock:
            self.rest_limiter.reset_counters()
            still_open = {
                n: WsSessionStats(e.app_key, e.peer, e.opened_at)
                for n, e in self.stats.ws_sessions.items()
                if e.closed_at is None
            }
            self.stats = SimStats()
            self.stats.ws_sessions.update(still_open)
            self.faults.counts.clear()


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _new_jwt(now: float, lifetime_s: float) -> str:
    """A JWT-shaped opaque token (~350 characters like KIS's); nothing in it is checked."""
    header = _b64(json.dumps({"typ": "JWT", "alg": "HS512"}).encode())
    payload = _b64(
        json.dumps(
            {
                "sub": "kis-simulator",
                "aud": str(uuid.uuid4()),
                "prdt_cd": "",
                "iss": "kis-sim",
                "exp": int(now + lifetime_s),
                "iat": int(now),
                "jti": secrets.token_hex(16),
            }
        ).encode()
    )
    return f"{header}.{payload}.{_b64(secrets.token_bytes(64))}"
