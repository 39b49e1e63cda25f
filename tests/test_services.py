"""The services fixtures give each test servers that work and a share nobody else has written to.

Each test runs twice in a row on one pytest worker: the second run must not see what the first
wrote (or, for S3, must get another bucket). Without the servers (`bash .ci/run` starts them)
these tests skip.
"""

from __future__ import annotations

import httpx
import psycopg
import pytest
import redis

from tests.services import S3Bucket

ROUNDS = pytest.mark.parametrize("round_no", [1, 2])
BUCKETS_SEEN: set[str] = set()


@ROUNDS
def test_redis_url_is_an_empty_database(redis_url: str, round_no: int) -> None:
    db = redis.Redis.from_url(redis_url)
    assert db.dbsize() == 0
    db.set("written-by", round_no)


@ROUNDS
def test_pg_dsn_is_a_new_database_where_schemas_can_be_made(pg_dsn: str, round_no: int) -> None:
    with psycopg.connect(pg_dsn) as con:
        tables = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema not in ('pg_catalog', 'information_schema')"
        ).fetchone()
        assert tables == (0,)
        con.execute("create schema lake")
        con.execute("create table lake.written_by (round int)")
        con.execute("insert into lake.written_by values (%s)", (round_no,))


@ROUNDS
def test_s3_endpoint_is_a_new_empty_bucket(s3_endpoint: S3Bucket, round_no: int) -> None:
    listing = httpx.get(f"{s3_endpoint.endpoint}/{s3_endpoint.bucket}").raise_for_status()
    assert b"<ListBucketResult" in listing.content and b"<Contents>" not in listing.content
    assert s3_endpoint.bucket not in BUCKETS_SEEN
    BUCKETS_SEEN.add(s3_endpoint.bucket)
