"""The backend a top-level command talks to (real KIS, or one embedded simulator) and the
warehouse its settings name.

With `KIS_ENV=sim` and no `KIS_REST_URL`, a top-level command (`demo`, `backfill`, `stream`,
`dev`) starts exactly one simulator for its lifetime. Its URLs travel as values: in the settings
this yields, in the Dagster resources of the runs the command executes
(`defs.resources.simulator_resources`), and in the environment given to the processes it
launches (`defs.resources.deployment_environ`), so all of them share one rate limit and one
token. The command's own environment is left as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from kis_pipeline.kis.settings import KisSettings

if TYPE_CHECKING:
    from kis_pipeline.warehouse import Warehouse


@contextlib.contextmanager
def backend(settings: KisSettings | None = None) -> Iterator[KisSettings]:
    """Yield settings whose URLs point at a live backend, starting a simulator if needed."""
    settings = settings or KisSettings.from_env()
    if not settings.needs_embedded_simulator:
        yield settings
        return
    from kis_pipeline.simulator.config import SimConfig
    from kis_pipeline.simulator.server import SimulatorServer

    with SimulatorServer(SimConfig()) as server:
        yield settings.with_simulator(server.rest_url, server.ws_url)


def open_warehouse(settings: KisSettings) -> Warehouse:
    """The process's warehouse at `KIS_WAREHOUSE` with its `KIS_CATALOG` (imported here, on
    first use, so commands that never open it start fast)."""
    from kis_pipeline.warehouse import Warehouse

    return Warehouse.at(settings.warehouse, catalog=settings.catalog, data_url=settings.data_url)
