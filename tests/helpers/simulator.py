"""The test session's simulator configuration and the environment of a client of it."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kis_pipeline.common.clock import KST
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer

# A fixed clock keeps the simulator's history, and so every expected value, reproducible.
SIM_NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=KST)
SIM_CONFIG = SimConfig(seed=11, universe=40, start=dt.date(2023, 1, 2), now=SIM_NOW)

_key_numbers = itertools.count(1)


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


def own_simulator(config: SimConfig) -> tuple[Any, Any]:
    """`server` (one simulator of `config` per test module) and `market` (its model) fixtures,
    for a module whose history or universe differs from the session's simulator:
    `server, market = own_simulator(CONFIG)` at module level."""

    @pytest.fixture(scope="module")
    def server() -> Iterator[SimulatorServer]:
        with SimulatorServer(config) as running:
            yield running

    @pytest.fixture
    def market(server: SimulatorServer) -> Market:
        return server.state.market

    return server, market
