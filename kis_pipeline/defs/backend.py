"""The backend a top-level command talks to: real KIS, or one embedded simulator.

With `KIS_ENV=sim` and no `KIS_REST_URL`, a top-level command (`demo`, `backfill`, `stream`,
`dev`) starts exactly one simulator for its lifetime and exports its URLs, so every process it
launches (Dagster runs included) shares one rate limit and one token. It sits with the Dagster
wiring because the tick collector asset starts its own when a run needs one.
"""

from __future__ import annotations

import contextlib
import os
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
        live = settings.with_simulator(server.rest_url, server.ws_url)
        exported = {
            "KIS_REST_URL": live.rest_url or "",
            "KIS_WS_URL": live.ws_url or "",
            "KIS_MASTER_URL": live.master_url,
        }
        previous = {name: os.environ.get(name) for name in exported}
        os.environ.update(exported)
        try:
            yield live
        finally:
            for name, value in previous.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
