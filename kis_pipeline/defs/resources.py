"""Dagster resources: thin wrappers that build the plain-Python KIS client and warehouse.

Both read the product's environment variables (DESIGN §3.2) when a run starts, so a run
launched by `kis-pipeline backfill`, `demo` or `dev` talks to the simulator its parent started.
Secrets never enter Dagster config or event logs: only the variables' names are shown.
Records a client's parsers refuse are written to the warehouse's `rest_rejects` when the client
closes, so every asset keeps them without doing anything.
"""

from __future__ import annotations

import functools

import dagster as dg

from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.rejects import RejectLog
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.warehouse import Warehouse
from kis_pipeline.warehouse.rejects import write_rejects


class KisResource(dg.ConfigurableResource):  # type: ignore[misc]
    """The KIS client for the environment's `KIS_ENV`, app key and URLs."""

    def settings(self) -> KisSettings:
        return KisSettings.from_env()

    def client(self) -> KisClient:
        """A new client; use it as a context manager so its connections are closed and the
        records it refused reach `rest_rejects`."""
        settings = self.settings()
        sink = functools.partial(
            write_rejects,
            Warehouse.at(settings.warehouse, catalog=settings.catalog, data_url=settings.data_url),
        )
        return KisClient(settings, rejects=RejectLog(sink))


class WarehouseResource(dg.ConfigurableResource):  # type: ignore[misc]
    """The Parquet warehouse at `KIS_WAREHOUSE`."""

    def warehouse(self) -> Warehouse:
        settings = KisSettings.from_env()
        return Warehouse.at(
            settings.warehouse, catalog=settings.catalog, data_url=settings.data_url
        )


RESOURCES = {"kis": KisResource(), "warehouse": WarehouseResource()}
