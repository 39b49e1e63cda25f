"""The same warehouse on a PostgreSQL catalog and an `s3://` data path, against real servers.

`bash .ci/run` (or `.ci/services start`) starts PostgreSQL and an S3-compatible server on
loopback; the `pg_dsn` and `s3_endpoint` fixtures (tests/services.py) give each test a database
and a bucket of its own, and skip the test without the servers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kis_pipeline.warehouse import LakeConfig, Scope, Warehouse, WarehouseError, connect
from kis_pipeline.warehouse.lake import S3, LakeError, check_store
from kis_pipeline.warehouse.maintenance import maintain
from tests.services import S3Bucket, free_port
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


def wrong_credentials(endpoint: str) -> S3:
    return S3.from_environ(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "AKIAWRONGKEY",
            "AWS_SECRET_ACCESS_KEY": "wrong",
            "AWS_REGION": "us-east-1",
        }
    )


def test_refused_s3_credentials_are_one_line_that_names_the_variables(
    tmp_path: Path, s3_refusing_endpoint: str
) -> None:
    s3 = wrong_credentials(s3_refusing_endpoint)
    # A local catalog, so the object store is the only thing that can refuse.
    config = LakeConfig(f"sqlite:{tmp_path / 'catalog.sqlite'}", "s3://kis-refused/lake/", s3)
    wh = Warehouse(tmp_path, lake=config)
    # Enough rows for a data file: a few rows would be inlined in the catalog, never stored.
    many = [f"{n:06d}" for n in range(1, 501)]
    with pytest.raises(WarehouseError) as caught:
        wh.write_partition("daily_prices", DAY.isoformat(), prices(DAY, many, close=100))
    message = str(caught.value)
    assert "\n" not in message
    assert "refused the credentials for s3://kis-refused/lake/" in message
    assert "AWS_ACCESS_KEY_ID" in message and "AWS_SECRET_ACCESS_KEY" in message
    # Nothing of the write was committed: the table (created first) holds no partition.
    assert wh.partitions("daily_prices") == []


def test_the_store_check_says_in_one_line_that_s3_refuses_before_any_write(
    tmp_path: Path, s3_refusing_endpoint: str
) -> None:
    s3 = wrong_credentials(s3_refusing_endpoint)
    config = LakeConfig(f"sqlite:{tmp_path / 'catalog.sqlite'}", "s3://kis-refused/lake/", s3)
    with pytest.raises(LakeError) as caught:
        check_store(config)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("the object store refused the credentials for s3://kis-refused")


def test_the_store_check_names_an_object_store_that_does_not_answer(tmp_path: Path) -> None:
    s3 = S3.from_environ({"AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"})
    config = LakeConfig(f"sqlite:{tmp_path / 'catalog.sqlite'}", "s3://kis-nowhere/lake/", s3)
    with pytest.raises(LakeError) as caught:
        check_store(config)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("cannot reach the object store 127.0.0.1:")
    assert "check AWS_ENDPOINT_URL" in message
