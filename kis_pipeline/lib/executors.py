"""Which Dagster executor runs the steps of the runs the daemon launches (`KIS_EXECUTOR`).

- `multiprocess` (the default, Dagster's own): each step in a process of its own on the host
  that launched the run.
- `celery`: each step is a task on a Redis broker, executed by `dagster-celery` workers on any
  host that shares the instance (`docs/deploy/dagster.yaml`: PostgreSQL) and the warehouse.
  The broker is `KIS_CELERY_BROKER`, or else the Redis of `KIS_STATE_URL` in the database after
  the shared state's own, so that the queue never mixes with the limiter's and the tokens' keys.

`kis-pipeline backfill` executes its runs in its own process and is not affected; with
`--submit` the daemon launches them, with this executor.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

import dagster as dg

EXECUTOR_ENV = "KIS_EXECUTOR"
BROKER_ENV = "KIS_CELERY_BROKER"
EXECUTORS = ("multiprocess", "celery")


class ExecutorConfigError(ValueError):
    """KIS_EXECUTOR or its broker is set wrong; the message says what to set."""


def run_executor(environ: Mapping[str, str] | None = None) -> dg.ExecutorDefinition | None:
    """The executor `KIS_EXECUTOR` names; None for Dagster's default (multiprocess)."""
    environ = os.environ if environ is None else environ
    name = environ.get(EXECUTOR_ENV, "").strip() or "multiprocess"
    if name not in EXECUTORS:
        raise ExecutorConfigError(f"{EXECUTOR_ENV}={name!r}; use one of {', '.join(EXECUTORS)}")
    if name == "multiprocess":
        return None
    from dagster_celery import celery_executor

    broker = celery_broker(environ)
    return celery_executor.configured({"broker": broker, "backend": broker})


def celery_broker(environ: Mapping[str, str]) -> str:
    """`KIS_CELERY_BROKER`, or the database after `KIS_STATE_URL`'s on the same Redis."""
    explicit = environ.get(BROKER_ENV, "").strip()
    if explicit:
        return explicit
    state = environ.get("KIS_STATE_URL", "").strip()
    if not state:
        raise ExecutorConfigError(
            f"{EXECUTOR_ENV}=celery needs a Redis broker: set {BROKER_ENV}=redis://host:6379/1 "
            "or KIS_STATE_URL (the broker then uses the next database of the same Redis)"
        )
    parts = urlsplit(state)
    if parts.scheme not in ("redis", "rediss"):
        raise ExecutorConfigError(
            f"KIS_STATE_URL is {parts.scheme}://...; a celery broker needs redis:// or rediss://: "
            f"set {BROKER_ENV}"
        )
    path = parts.path.strip("/")
    database = int(path) if path.isdigit() else 0
    return parts._replace(path=f"/{database + 1}").geturl()


class BrokerUnreachable(ConnectionError):
    """The celery broker does not answer; the message is one line saying which and what to do."""


def require_broker(environ: Mapping[str, str] | None = None) -> None:
    """With `KIS_EXECUTOR=celery`, fail now with one line when the broker does not answer:
    the steps of a submitted backfill would otherwise wait for a queue nobody can reach."""
    environ = os.environ if environ is None else environ
    if run_executor(environ) is None:
        return
    import redis

    from kis_pipeline.kis.settings import redact_url

    broker = celery_broker(environ)
    try:
        redis.Redis.from_url(broker, socket_connect_timeout=5, socket_timeout=5).ping()
    except redis.RedisError as exc:
        said = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BrokerUnreachable(
            f"cannot reach the celery broker {redact_url(broker)} ({said}); start it or correct "
            f"{BROKER_ENV} (or KIS_STATE_URL, whose next database it defaults to)"
        ) from None
