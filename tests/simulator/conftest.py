"""The simulator the KSD schedule tests (bonus issues, capital reductions, rights issues and
mergers) read: a universe wide enough to hold every modelled event, one per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kis_pipeline.simulator.server import SimulatorServer
from tests.simulator.ksd_api import KSD_CONFIG
from tests.simulator.rest_api import Api


@pytest.fixture(scope="module")
def ksd_server() -> Iterator[SimulatorServer]:
    with SimulatorServer(KSD_CONFIG) as running:
        yield running


@pytest.fixture(scope="module")
def ksd_api(ksd_server: SimulatorServer) -> Api:
    return Api(ksd_server)
