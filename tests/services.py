"""Real servers for the `services` tests: Redis, PostgreSQL and an S3 server (moto).

`bash .ci/run`, or `eval "$(.ci/services start)"` on a developer's machine, starts them on
loopback and exports KIS_TEST_REDIS_URL, KIS_TEST_PG_DSN and KIS_TEST_S3_ENDPOINT (with the
AWS_* variables moto accepts). Without a variable, the tests that need its server skip with one
line saying how to start it; with it, a server that does not answer fails them.

Each test gets a share of its own:
- `redis_url`: a Redis database for this pytest worker, emptied before and after each test
  (databases 1 to 15 of the server are the tests');
- `redis_server`: a redis-server of the test's own, which it may kill and restart;
- `pg_dsn`: a fresh PostgreSQL database (a libpq DSN), dropped afterwards;
- `s3_endpoint`: a fresh bucket on the S3 server;
- `s3_refusing_endpoint`: an S3 server that checks credentials and knows none, so it refuses
  every request as a real one refuses a wrong key.
A test that uses any of them is marked `services`, so `-m services` selects them all.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

REDIS_ENV = "KIS_TEST_REDIS_URL"
PG_ENV = "KIS_TEST_PG_DSN"
S3_ENV = "KIS_TEST_S3_ENDPOINT"
S3_REFUSING_ENV = "KIS_TEST_S3_REFUSING_ENDPOINT"
SERVICE_FIXTURES = frozenset(
    {"redis_url", "redis_server", "pg_dsn", "s3_endpoint", "s3_refusing_endpoint"}
)
REDIS_DATABASES = 16


def _required(name: str, what: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        pytest.skip(f"no {what}: set {name} (bash .ci/run starts one)")
    return value


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Before `-m` selects: a test is a services test by the servers it uses.
    for item in items:
        if SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.services)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis URL whose database no other test uses at the same time, empty at the start."""
    import redis

    base = _required(REDIS_ENV, "Redis")
    # Tests of one pytest worker run one after another; workers run side by side.
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    db = 1 + worker
    if db >= REDIS_DATABASES:
        pytest.fail(f"pytest worker {worker} has no Redis database of its own (1-15)")
    url = urlsplit(base)._replace(path=f"/{db}").geturl()
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


def free_port() -> int:
    """A loopback port nothing listens on (the OS may hand it out again later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisProcess:
    """A redis-server the test owns, on a free loopback port, without persistence."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.02)

    def kill(self) -> None:
        """Gone at once, and with it everything it held (no snapshot is written)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisProcess]:
    _required(REDIS_ENV, "Redis")
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server on PATH (bash .ci/run installs it)")
    server = RedisProcess(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def pg_dsn() -> Iterator[str]:
    """A libpq DSN of a new database of this test's own, dropped after it."""
    import psycopg
    from psycopg import conninfo, sql

    base = _required(PG_ENV, "PostgreSQL")
    name = f"kis_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield conninfo.make_conninfo(base, dbname=name)
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@dataclass(frozen=True)
class S3Bucket:
    """A fresh bucket on the S3 server; credentials and region as exported by .ci/services."""

    endpoint: str
    bucket: str
    region: str
    access_key_id: str
    secret_access_key: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}"


@pytest.fixture
def s3_endpoint() -> S3Bucket:
    endpoint = _required(S3_ENV, "S3 server").rstrip("/")
    bucket = f"kis-test-{uuid.uuid4().hex[:12]}"
    # moto takes an unsigned request; a real S3 would need one signed with the credentials.
    httpx.put(f"{endpoint}/{bucket}", timeout=10).raise_for_status()
    return S3Bucket(
        endpoint=endpoint,
        bucket=bucket,
        region=os.environ.get("AWS_REGION", "us-east-1"),
        access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
    )


@pytest.fixture
def s3_refusing_endpoint() -> str:
    return _required(S3_REFUSING_ENV, "S3 server that checks credentials").rstrip("/")
