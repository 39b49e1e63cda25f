"""Fixtures of the streaming tests: a private simulator per test when counts must be exact."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import kis_pipeline.streaming.tables  # noqa: F401  (registers the tick tables)
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.streaming.spool import Spool
from kis_pipeline.warehouse import Warehouse
from tests.streaming.helpers import sim_config


@pytest.fixture
def private_sim() -> Iterator[Callable[..., SimulatorServer]]:
    """Start a simulator of its own (its stats then count only this test's ticks)."""
    with contextlib.ExitStack() as stack:

        def start(**overrides: Any) -> SimulatorServer:
            return stack.enter_context(SimulatorServer(sim_config(**overrides)))

        yield start


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    spool = Spool.for_warehouse(tmp_path / "warehouse")
    spool.ensure("testkey")
    return spool


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(tmp_path / "warehouse")
