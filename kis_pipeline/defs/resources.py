"""Dagster resources: thin wrappers that build the plain-Python KIS client and warehouse.

Both read the product's environment variables (DESIGN §3.2) when a run starts, so a run
launched by `kis-pipeline backfill`, `demo` or `dev` talks to the simulator its parent started.
Secrets never enter Dagster config or event logs: only the variables' names are shown.
"""

from __future__ import annotations

import dagster as dg

from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.warehouse import Warehouse


class KisResource(dg.ConfigurableResource):  # type: ignore[misc]
    """The KIS client for the environment's `KIS_ENV`, app key and URLs."""

    def settings(self) -> KisSettings:
        return KisSettings.from_env()

    def client(self) -> KisClient:
        """A new client; use it as a context manager so its connections are closed."""
        return KisClient(self.settings())


class WarehouseResource(dg.ConfigurableResource):  # type: ignore[misc]
    """The Parquet warehouse at `KIS_WAREHOUSE`."""

    def warehouse(self) -> Warehouse:
        return Warehouse(KisSettings.from_env().warehouse)


RESOURCES = {"kis": KisResource(), "warehouse": WarehouseResource()}
