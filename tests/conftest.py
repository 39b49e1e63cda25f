"""Shared fixtures: one in-process simulator per test session, fresh credentials per test.

Each test gets its own app key, so the simulator's per-key limits, tokens and WebSocket
sessions of one test never leak into another, and its own state dir for the token cache and
limiter file.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from kis_pipeline.common.clock import KST
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.server import SimulatorServer

# Redis, PostgreSQL and S3 fixtures for the `services` tests.
pytest_plugins = ["tests.services"]

# A fixed clock keeps the simulator's history, and so every expected value, reproducible.
SIM_NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=KST)
SIM_CONFIG = SimConfig(seed=11, universe=40, start=dt.date(2023, 1, 2), now=SIM_NOW)

_key_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimulatorServer]:
    with SimulatorServer(SIM_CONFIG) as server:
        yield server


def sim_environ(server: SimulatorServer, state_dir: Path, **extra: str) -> dict[str, str]:
    """Environment variables for a client of `server` with an app key of its own."""
    number = next(_key_numbers)
    return {
        "KIS_ENV": "sim",
        "KIS_APP_KEY": f"PSTEST{number:030d}",
        "KIS_APP_SECRET": f"TESTSECRET{number:0170d}",
        "KIS_REST_URL": server.rest_url,
        "KIS_WS_URL": server.ws_url,
        "KIS_STATE_DIR": str(state_dir),
        **extra,
    }


@pytest.fixture
def sim_settings(sim_server: SimulatorServer, tmp_path: Path) -> KisSettings:
    return KisSettings.from_env(sim_environ(sim_server, tmp_path / "state"))


@pytest.fixture
def sim_client(sim_settings: KisSettings) -> Iterator[KisClient]:
    # The test simulator allows 18/s per key; tests run at the product's default 17/s.
    with KisClient(sim_settings, backoff_base_s=0.01) as client:
        yield client
