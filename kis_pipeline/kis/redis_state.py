"""The rate limit and tokens of an app key in Redis, shared by workers on several hosts.

Chosen by `KIS_STATE_URL=redis://host:6379/0`; without it they stay in files under
`KIS_STATE_DIR`, for one machine. Redis keys are named by `KisSettings.key_id`, a hash: no app
key or secret reaches Redis, only tokens and the times they were issued.

- `RedisRateLimiter` is the GCRA of `ratelimit`, run by Redis as one Lua script per slot:
  reading, taking and advancing the theoretical arrival time is atomic without a lock, and it
  is timed by Redis's clock (`TIME`), so hosts whose clocks disagree share one timeline.
- `RedisTokenStore` is the single-flight issuance of `auth` under a Redis lock that expires if
  its holder dies; the minute between two issuances is timed by Redis's clock too.

A Redis that cannot be reached at first fails the command at once with one line naming
KIS_STATE_URL. One that goes away later (a restart, a failover) is waited for up to
`OUTAGE_S`, then the same line. No request is sent meanwhile: none unthrottled, and none under
a limiter of this process alone, which would overrun the key's limit alongside the others.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry

from kis_pipeline.kis.auth import (
    MIN_ISSUE_INTERVAL_S,
    LockedTokenStore,
    WaitNotice,
    log_wait,
)
from kis_pipeline.kis.errors import StateStoreUnavailable
from kis_pipeline.kis.ratelimit import Clock, Reservation, Sleep, _Gcra
from kis_pipeline.kis.settings import redact_url

PREFIX = "kis-pipeline"
# How long a Redis that was reached may be gone (a restart, a failover) before commands fail.
OUTAGE_S = 30.0
CONNECT_TIMEOUT_S = 2.0
SOCKET_TIMEOUT_S = 5.0
_BACKOFF_CAP_S = 0.5
# The furthest ahead of now a slot is ever granted. Callers beyond it wait and ask again
# instead of queueing in Redis, so when the state is lost no slot granted before can lie more
# than this far ahead, and the new timeline starts after all of them: no burst, at the cost of
# one horizon without requests after a restart.
HORIZON_S = 1.0
# An idle key's limiter state is dropped after a day.
LIMITER_TTL_S = 86_400
# The token lock expires this long after its holder last renewed it (before waiting out the
# minute and before each issuance), so a holder that died blocks the others for no longer.
TOKEN_LOCK_TTL_S = 90.0
TOKEN_LOCK_WAIT_S = 300.0
# Tokens live 24 h; their record outlives them, and the time of the last issuance with it.
TOKENS_TTL_S = 2 * 86_400

# KEYS[1]: the limiter hash of one app key. ARGV: interval and horizon (microseconds), the
# hash's TTL (ms), and the uptime (s) under which a server without the hash has just restarted.
# Returns {1, µs until the slot} for a granted slot, {0, µs until asking again} otherwise.
GCRA_LUA = """
local interval = tonumber(ARGV[1])
local horizon = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local info = redis.call('INFO', 'server')
local run = string.match(info, 'run_id:(%w+)')
local held = redis.call('HMGET', KEYS[1], 'tat', 'run')
local tat = tonumber(held[1])
local lost
if tat == nil then
  -- Lost with a server that has just started (a restart without persistence), unless it has
  -- run long enough that all a previous one granted lies in the past (first use, idle expiry).
  lost = tonumber(string.match(info, 'uptime_in_seconds:(%d+)')) < tonumber(ARGV[4])
  tat = now
else
  -- Restored from a snapshot of another server run, or Redis's clock stepped back.
  lost = held[2] ~= run or tat - now > horizon + interval
end
if lost then
  -- Slots granted before may still be pending up to the horizon: start after all of them.
  tat = now + horizon + interval
end
local granted = tat - now <= horizon
local slot = math.max(tat, now)
if granted then
  tat = slot + interval
end
redis.call('HSET', KEYS[1], 'tat', tat, 'run', run)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if granted then
  return {1, slot - now}
end
return {0, tat - horizon - now}
"""


class RedisState:
    """One connection pool to the Redis of KIS_STATE_URL, and its errors as one line."""

    def __init__(self, url: str, *, outage_s: float = OUTAGE_S) -> None:
        self.shown = redact_url(url)
        # Exponential steps up to _BACKOFF_CAP_S, then that step until outage_s is used up.
        retries = 6 + math.ceil(outage_s / _BACKOFF_CAP_S)
        options: dict[str, Any] = {
            "socket_connect_timeout": CONNECT_TIMEOUT_S,
            "socket_timeout": SOCKET_TIMEOUT_S,
        }
        self.client = redis.Redis.from_url(
            url, retry=Retry(ExponentialBackoff(cap=_BACKOFF_CAP_S, base=0.01), retries), **options
        )
        self._probe = redis.Redis.from_url(url, retry=Retry(NoBackoff(), 0), **options)
        self._reached = False

    def run(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`call(*args, **kwargs)` against Redis; any Redis error becomes the one line."""
        try:
            if not self._reached:
                # A Redis never reached is a wrong URL or a server not started: say so now
                # rather than after the retries that ride out a restart.
                self._probe.ping()
                self._probe.close()
                self._reached = True
            return call(*args, **kwargs)
        except redis.exceptions.LockError:
            raise  # about the lock, not the server: the caller decides
        except redis.RedisError as exc:
            raise StateStoreUnavailable(self._message(exc)) from None

    def time(self) -> float:
        """Redis's clock (epoch seconds): one timeline for every host."""
        seconds, micros = self.run(self.client.time)
        return seconds + micros / 1e6

    def _message(self, exc: redis.RedisError) -> str:
        if isinstance(exc, redis.AuthenticationError) or not isinstance(
            exc, redis.ConnectionError | redis.TimeoutError
        ):
            what = "Redis refused us"  # a wrong password, a read-only replica
        else:
            what = "lost Redis" if self._reached else "cannot reach Redis"
        return (
            f"{what} at KIS_STATE_URL={self.shown} ({_reason(exc)}); start it or correct "
            "KIS_STATE_URL. No request goes to KIS without the shared rate limit"
        )


def _reason(exc: BaseException) -> str:
    """What the OS said ("connection refused"), else Redis's own first line."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
        cause = cause.__cause__ or cause.__context__
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")


@functools.cache
def connect(url: str) -> RedisState:
    """The process's one `RedisState` for `url` (its pool outlives the clients that use it)."""
    return RedisState(url)


def _key(key_id: str, name: str) -> str:
    return f"{PREFIX}:{key_id}:{name}"


class RedisRateLimiter(_Gcra):
    """GCRA whose TAT lives in Redis: shared by every worker of the app key, on any host."""

    def __init__(
        self,
        state: RedisState,
        key_id: str,
        rate: float,
        *,
        clock: Clock = time.time,
        sleep: Sleep = time.sleep,
    ) -> None:
        super().__init__(rate, clock, sleep)
        self._state = state
        self._key = _key(key_id, "gcra")
        self._script = state.client.register_script(GCRA_LUA)
        self._args = (
            round(self._interval * 1e6),
            round(HORIZON_S * 1e6),
            LIMITER_TTL_S * 1000,
            math.ceil(HORIZON_S) + 1,  # whole seconds of uptime: certainly past the horizon
        )

    def _reserve(self) -> Reservation:
        granted, delay_us = self._state.run(self._script, keys=[self._key], args=self._args)
        # Redis says how far ahead the slot lies on its clock; this host sleeps that long on
        # its own. The reply's way back only makes the request a little later, never early.
        now = self._clock()
        return Reservation(now + delay_us / 1e6, now, bool(granted))


class RedisTokenStore(LockedTokenStore):
    """Tokens of one app key in Redis, issued single-flight under a lock that expires."""

    def __init__(
        self,
        state: RedisState,
        key_id: str,
        *,
        min_issue_interval: float = MIN_ISSUE_INTERVAL_S,
        clock: Clock | None = None,
        sleep: Sleep = time.sleep,
        on_wait: WaitNotice = log_wait,
    ) -> None:
        super().__init__(
            min_issue_interval=min_issue_interval,
            clock=clock or state.time,
            sleep=sleep,
            on_wait=on_wait,
        )
        self._state = state
        self._key = _key(key_id, "tokens")
        self._lock_name = _key(key_id, "tokens-lock")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[Callable[[], None]]:
        lock = self._state.client.lock(
            self._lock_name, timeout=TOKEN_LOCK_TTL_S, blocking_timeout=TOKEN_LOCK_WAIT_S
        )
        if not self._state.run(lock.acquire):
            raise StateStoreUnavailable(
                f"waited {TOKEN_LOCK_WAIT_S:.0f} s for the token lock in Redis "
                f"(KIS_STATE_URL={self._state.shown}) held by another worker; retry, or check "
                "that worker"
            )
        try:
            yield functools.partial(self._renew, lock)
        finally:
            # A lock Redis no longer holds (expired, or lost in a restart) needs no release.
            with contextlib.suppress(redis.RedisError):
                lock.release()

    def _renew(self, lock: redis.lock.Lock) -> None:
        # A lock lost in a Redis restart cannot be renewed: the issuance goes ahead, and a
        # second one elsewhere is answered EGW00133, which the store waits out.
        with contextlib.suppress(redis.exceptions.LockError):
            self._state.run(lock.reacquire)

    def _read(self) -> bytes | None:
        return self._state.run(self._state.client.get, self._key)

    def _write(self, data: bytes) -> None:
        self._state.run(self._state.client.set, self._key, data, ex=TOKENS_TTL_S)
