"""The backend a top-level command talks to: real KIS, or one embedded simulator.

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

from kis_pipeline.kis.settings import KisSettings


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
