"""The same warehouse on a PostgreSQL catalog and an `s3://` data path, against real servers.

`bash .ci/run` (or `.ci/services start`) starts PostgreSQL and an S3-compatible server on
loopback; the `pg_dsn` and `s3_endpoint` fixtures (tests/services.py) give each test a database
and a bucket of its own, and skip the test without the servers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kis_pipeline.warehouse import LakeConfig, Scope, Warehouse, connect
from kis_pipeline.warehouse.lake import S3
from kis_pipeline.warehouse.maintenance import maintain
from tests.services import S3Bucket
from tests.helpers.daily_prices import DAY, SYMBOLS, prices

pytestmark = pytest.mark.services


@pytest.fixture
def lake_on_servers(tmp_path: Path, pg_dsn: str, s3_endpoint: S3Bucket) -> Warehouse:
    """A fresh lake per test: a new PostgreSQL database for the catalog, a new bucket."""
    s3 = S3.from_environ(
        {
            "AWS_ENDPOINT_URL": s3_endpoint.endpoint,
            "AWS_ACCESS_KEY_ID": s3_endpoint.access_key_id,
            "AWS_SECRET_ACCESS_KEY": s3_endpoint.secret_access_key,
            "AWS_REGION": s3_endpoint.region,
        }
    )
    config = LakeConfig(f"postgres:{pg_dsn}", f"{s3_endpoint.url}/lake/", s3)
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
