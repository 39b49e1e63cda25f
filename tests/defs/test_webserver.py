"""`make dev` as a person sees it: the real Dagster webserver serves the whole code location.

Starts `dagster-webserver` on the repository's workspace.yaml and asks its GraphQL endpoint
for the asset graph, groups, checks, schedules and sensors.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kis_pipeline.warehouse.tables import TABLES
from tests.helpers.processes import stop_group

ROOT = Path(__file__).parents[2]
QUERY = """
{
  assetNodes { assetKey { path } groupName
    assetChecksOrError { ... on AssetChecks { checks { name } } } }
  repositoriesOrError { ... on RepositoryConnection { nodes {
    schedules { name } sensors { name sensorState { status } } } } }
}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def webserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "KIS_WAREHOUSE": str(home / "wh")}
    executable = Path(sys.executable).with_name("dagster-webserver")
    proc = subprocess.Popen(
        [str(executable), "-h", "127.0.0.1", "-p", str(port), "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"webserver exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("webserver did not start within 120 s")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.timeout(300)
def test_ui_serves_assets_by_domain_with_checks_schedules_and_sensors(webserver: str) -> None:
    answer = httpx.post(f"{webserver}/graphql", json={"query": QUERY}, timeout=60).json()
    assert "errors" not in answer, answer.get("errors")
    nodes = answer["data"]["assetNodes"]
    keys = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    batch = {
        "trading_calendar",
        "symbols",
        "daily_prices",
        "daily_prices_adjusted",
        "index_daily",
        "overseas_daily_prices",
        "rankings",
        "investor_flows",
        "market_investor_flows",
        "balance_sheet",
        "income_statement",
        "financial_ratios",
        "dividends",
    }
    ticks = {"trade_ticks", "orderbook_ticks"}
    assert batch | ticks <= set(keys)
    # Every asset is a warehouse table, except the two maintenance assets.
    # Two assets write no table of their own: maintenance, and the sector sub-indices (into
    # index_daily).
    assert set(keys) - set(TABLES) == {"warehouse_maintenance", "sector_index_daily"}
    groups = {n["groupName"] for n in nodes}
    assert {"prices", "calendar", "rankings", "flows", "fundamentals", "ticks"} <= groups
    checked = {k for k, n in keys.items() if n["assetChecksOrError"].get("checks")}
    assert {"daily_prices", "investor_flows", "rankings", "trading_calendar"} <= checked
    repo = answer["data"]["repositoriesOrError"]["nodes"][0]
    assert repo["schedules"], "no schedules"
    sensors = {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]}
    assert sensors.get("run_failure_alert_sensor") == "RUNNING"
    assert sensors.get("tick_segments_sensor") == "RUNNING"


@pytest.mark.timeout(300)
def test_kis_pipeline_dev_serves_the_ui_on_the_warehouse_and_stops_cleanly(tmp_path: Path) -> None:
    """`make dev` runs `kis-pipeline dev`: simulator + `dagster dev` on the same warehouse."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIS_", "DAGSTER_"))}
    env |= {"KIS_WAREHOUSE": str(tmp_path / "wh"), "KIS_STATE_DIR": str(tmp_path / "state")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kis_pipeline.cli", "dev", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            try:
                if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "kis-pipeline dev did not serve within 180 s"
            time.sleep(1.0)
        query = "{ assetNodes { assetKey { path } } }"
        nodes = httpx.post(f"{url}/graphql", json={"query": query}, timeout=60).json()
        keys = {"/".join(n["assetKey"]["path"]) for n in nodes["data"]["assetNodes"]}
        assert {"daily_prices", "trade_ticks"} <= keys
        # Dagster's home sits beside the warehouse it describes.
        assert (tmp_path / "wh" / ".dagster" / "dagster.yaml").is_file()
    finally:
        assert stop_group(proc, 60), "the webserver did not stop on SIGTERM within 60 s"
