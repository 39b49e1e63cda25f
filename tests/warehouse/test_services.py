"""The same warehouse on a PostgreSQL catalog and an `s3://` data path, against real servers.

CI starts PostgreSQL and an S3-compatible server on loopback and sets `KIS_TEST_PG_DSN` (a libpq
string) and `KIS_TEST_S3_ENDPOINT` (e.g. http://127.0.0.1:9000, with `AWS_ACCESS_KEY_ID`,
`AWS_SECRET_ACCESS_KEY` and a bucket `KIS_TEST_S3_BUCKET`, default `kis-test`); without them the
tests skip.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from kis_pipeline.warehouse import LakeConfig, Scope, Warehouse, connect
from kis_pipeline.warehouse.lake import S3
from kis_pipeline.warehouse.maintenance import maintain
from tests.warehouse.test_store import DAY, SYMBOLS, prices

PG = os.environ.get("KIS_TEST_PG_DSN", "")
ENDPOINT = os.environ.get("KIS_TEST_S3_ENDPOINT", "")

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        not (PG and ENDPOINT),
        reason="no PostgreSQL and S3 server here (set KIS_TEST_PG_DSN and KIS_TEST_S3_ENDPOINT)",
    ),
]


@pytest.fixture
def lake_on_servers(tmp_path: Path) -> Warehouse:
    """A fresh lake per test: a new PostgreSQL schema for the catalog, a new S3 prefix."""
    schema = f"kis_{uuid.uuid4().hex[:8]}"
    bucket = os.environ.get("KIS_TEST_S3_BUCKET", "kis-test")
    s3 = S3.from_environ({**os.environ, "AWS_ENDPOINT_URL": ENDPOINT})
    config = LakeConfig(
        f"postgres:{PG} options=-csearch_path={schema}", f"s3://{bucket}/{schema}/", s3
    )
    return Warehouse(tmp_path, lake=config)


def test_writes_reads_scopes_and_maintenance_on_postgres_and_s3(lake_on_servers: Warehouse) -> None:
    wh = lake_on_servers
    wh.write_partition("daily_prices", DAY.isoformat(), prices(DAY, SYMBOLS, close=100))
    wh.write_partition(
        "daily_prices", DAY.isoformat(), prices(DAY, ["000660"], 7), scope=Scope.of(["000660"])
    )
    assert sorted(wh.read("daily_prices")["close"].to_list()) == [7, 100, 100]
    maintain(wh)
    with connect(wh) as con:
        assert con.execute("select count(*) from daily_prices").fetchone() == (3,)
