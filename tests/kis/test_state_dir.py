"""`KIS_STATE_DIR` holds the access token: whichever process makes it first, only its owner
may read it."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kis_pipeline.kis.auth import FileTokenStore, IssuedToken
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.ratelimit import FileRateLimiter
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.streaming.locks import collector_locks


def _token() -> IssuedToken:
    return IssuedToken("t", issued_at=time.time(), expires_at=time.time() + 86_400)


def _token_store(state: Path) -> None:
    FileTokenStore(state, "key").access_token(_token)


def _rate_limiter(state: Path) -> None:
    FileRateLimiter(state / "ratelimit.gcra", 10.0).acquire()


def _client(state: Path) -> None:
    settings = KisSettings.from_env(
        {"KIS_REST_URL": "http://127.0.0.1:9", "KIS_STATE_DIR": str(state)}
    )
    KisClient(settings).close()


def _collector(state: Path) -> None:
    with collector_locks(state, state.parent / "spool" / "open" / "key.lock", "key"):
        pass


@pytest.fixture
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.parametrize(
    "first_user",
    [_token_store, _rate_limiter, _client, _collector],
    ids=["token store", "rate limiter", "client", "collector"],
)
@pytest.mark.usefixtures("usual_umask")
def test_the_state_dir_is_private_whoever_makes_it(
    first_user: Callable[[Path], None], tmp_path: Path
) -> None:
    state = tmp_path / "new" / "state"
    first_user(state)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


def test_an_existing_state_dir_keeps_the_mode_its_owner_chose(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    os.chmod(state, 0o750)
    _collector(state)
    assert stat.S_IMODE(state.stat().st_mode) == 0o750
