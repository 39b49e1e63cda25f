"""Shared fixtures: one in-process simulator per test session, fresh credentials per test.

Each test gets its own app key, so the simulator's per-key limits, tokens and WebSocket
sessions of one test never leak into another, and its own state dir for the token cache and
limiter file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.simulator.server import SimulatorServer
from tests.defs.seed import fast_config
from tests.helpers.simulator import SIM_CONFIG, sim_environ

# Redis, PostgreSQL and S3 fixtures for the `services` tests; small tmpfs disks.
pytest_plugins = ["tests.services", "tests.helpers.disks"]


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimulatorServer]:
    with SimulatorServer(SIM_CONFIG) as server:
        yield server


@pytest.fixture(scope="module")
def fast_sim() -> Iterator[SimulatorServer]:
    """A simulator whose limit tests do not wait on (`fast_config`), one per test module: the
    calls one module makes never pace another's."""
    with SimulatorServer(fast_config(SIM_CONFIG)) as server:
        yield server


@pytest.fixture
def sim_settings(sim_server: SimulatorServer, tmp_path: Path) -> KisSettings:
    return KisSettings.from_env(sim_environ(sim_server, tmp_path / "state"))


@pytest.fixture
def sim_client(sim_settings: KisSettings) -> Iterator[KisClient]:
    # The test simulator allows 18/s per key; tests run at the product's default 17/s.
    with KisClient(sim_settings, backoff_base_s=0.01) as client:
        yield client
