"""`KIS_EXECUTOR`: Dagster's default unless set; celery on its own broker database; a wrong
value is one line that says what to set."""

from __future__ import annotations

import pytest

from kis_pipeline.lib.executors import (
    BrokerUnreachable,
    ExecutorConfigError,
    celery_broker,
    require_broker,
    run_executor,
)
from tests.services import free_port


def test_default_is_dagsters_own_executor() -> None:
    assert run_executor({}) is None
    assert run_executor({"KIS_EXECUTOR": "multiprocess"}) is None


def test_celery_takes_the_database_after_the_shared_state() -> None:
    assert celery_broker({"KIS_STATE_URL": "redis://:pw@db:6379/2"}) == "redis://:pw@db:6379/3"
    assert celery_broker({"KIS_STATE_URL": "redis://db:6379"}) == "redis://db:6379/1"
    explicit = {"KIS_STATE_URL": "redis://db:6379/0", "KIS_CELERY_BROKER": "redis://q:6379/5"}
    assert celery_broker(explicit) == "redis://q:6379/5"
    assert run_executor({"KIS_EXECUTOR": "celery", "KIS_STATE_URL": "redis://db/0"}) is not None


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"KIS_EXECUTOR": "k8s"}, "KIS_EXECUTOR='k8s'; use one of multiprocess, celery"),
        ({"KIS_EXECUTOR": "celery"}, "KIS_EXECUTOR=celery needs a Redis broker"),
        (
            {"KIS_EXECUTOR": "celery", "KIS_STATE_URL": "unix:///run/redis.sock"},
            "a celery broker needs redis:// or rediss://",
        ),
    ],
)
def test_a_wrong_setting_says_what_to_set(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ExecutorConfigError, match=message.replace("(", r"\(")):
        run_executor(environ)


def test_a_broker_that_does_not_answer_is_one_line_before_a_submission() -> None:
    broker = f"redis://:sesame@127.0.0.1:{free_port()}/1"
    environ = {"KIS_EXECUTOR": "celery", "KIS_CELERY_BROKER": broker}

    with pytest.raises(BrokerUnreachable) as raised:
        require_broker(environ)

    message = str(raised.value)
    assert message.startswith("cannot reach the celery broker redis://:***@127.0.0.1:")
    assert "sesame" not in message and "\n" not in message
    assert "KIS_CELERY_BROKER" in message
    require_broker({})  # the default executor needs no broker
