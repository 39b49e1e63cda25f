"""Dagster resources that carry the product's settings as values: the KIS client and the warehouse.

Each field names the environment variable it stands for (DESIGN §3.2). A field given a value
(a string, or `dg.EnvVar` so that only the variable's name reaches Dagster's config and event
logs) wins; a field left unset keeps what the variable says when a run starts, from the process
environment or `.env`. `resources_for()` builds the pair for one deployment, the way Dagster's
`project_fully_featured` example swaps resources per deployment:

- `local`: every value from the environment, as a person's `dagster dev` or a test sets it;
- `simulator`: KIS_ENV=sim at the URLs of a running simulator, given as values by the command
  that started it (in process) or as KIS_REST_URL / KIS_WS_URL to the processes it launches;
- `production`: real KIS, with the app key and secret read from their variables at run start.

A test hands an asset a `KisResource` whose `transport` is an `httpx.MockTransport`, or whose
URLs are an in-process simulator's. Records a client's parsers refuse are written to the
warehouse's `rest_rejects` when the client closes, so every asset keeps them without doing
anything.
"""

# No `from __future__ import annotations`: Dagster validates resource fields from their
# annotations at run time, and a string annotation makes `ResourceDependency` refuse any value.

import functools
import os
from typing import Any

import dagster as dg
import httpx

from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.rejects import RejectLog
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.lib import read_ahead
from kis_pipeline.warehouse import Warehouse
from kis_pipeline.warehouse.rejects import write_rejects

DEPLOYMENTS = ("local", "simulator", "production")
DEPLOYMENT_ENV = "KIS_DEPLOYMENT"

# Field -> the environment variable it overrides.
VARIABLES = {
    "env": "KIS_ENV",
    "app_key": "KIS_APP_KEY",
    "app_secret": "KIS_APP_SECRET",
    "app_keys": "KIS_APP_KEYS",
    "app_secrets": "KIS_APP_SECRETS",
    "rest_url": "KIS_REST_URL",
    "ws_url": "KIS_WS_URL",
    "master_url": "KIS_MASTER_URL",
    "rate_limit": "KIS_RATE_LIMIT",
    "symbols": "KIS_SYMBOLS",
    "state_dir": "KIS_STATE_DIR",
    "state_url": "KIS_STATE_URL",
    "warehouse_location": "KIS_WAREHOUSE",
    "catalog": "KIS_CATALOG",
}


class SettingsResource(dg.ConfigurableResource):  # type: ignore[misc]
    """The product's settings; each field left None keeps its environment variable's value."""

    env: str | None = None
    app_key: str | None = None
    app_secret: str | None = None
    app_keys: str | None = None
    app_secrets: str | None = None
    rest_url: str | None = None
    ws_url: str | None = None
    master_url: str | None = None
    rate_limit: float | None = None
    symbols: str | None = None
    state_dir: str | None = None
    state_url: str | None = None
    warehouse_location: str | None = None
    catalog: str | None = None

    def settings(self) -> KisSettings:
        """The settings of this run, checked as the command line checks them."""
        given = {
            name: str(value)
            for field, name in VARIABLES.items()
            if (value := getattr(self, field)) is not None
        }
        return KisSettings.from_env(overrides=given)


def _warehouse(settings: KisSettings) -> Warehouse:
    """The process's warehouse for `settings` (one per lake: see `Warehouse.shared`)."""
    return Warehouse.at(settings.warehouse, catalog=settings.catalog, data_url=settings.data_url)


class KisResource(SettingsResource):
    """The KIS client for these settings; `transport` replaces the network (tests)."""

    transport: dg.ResourceDependency[httpx.BaseTransport | None] = None

    def client(self) -> KisClient:
        """A new client; use it as a context manager so its connections are closed and the
        records it refused reach `rest_rejects`."""
        settings = self.settings()
        sink = functools.partial(write_rejects, _warehouse(settings))
        return KisClient(settings, transport=self.transport, rejects=RejectLog(sink))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        # A run that ends (or fails) before its later steps leaves no fetch to begin for them.
        read_ahead.close(context.run_id)


class WarehouseResource(SettingsResource):
    """The warehouse at `warehouse_location` (KIS_WAREHOUSE)."""

    def warehouse(self) -> Warehouse:
        return _warehouse(self.settings())


def resources_for(
    deployment: str = "local", **values: Any
) -> dict[str, KisResource | WarehouseResource]:
    """The `kis` and `warehouse` resources of `deployment`; `values` set fields on both."""
    if deployment not in DEPLOYMENTS:
        raise ValueError(
            f"{DEPLOYMENT_ENV}={deployment!r} is not known; use one of {', '.join(DEPLOYMENTS)}"
        )
    if deployment == "simulator":
        values = {
            "env": "sim",
            "rest_url": dg.EnvVar(VARIABLES["rest_url"]),
            "ws_url": dg.EnvVar(VARIABLES["ws_url"]),
            **values,
        }
    elif deployment == "production":
        values = {
            "env": "real",
            "app_key": dg.EnvVar(VARIABLES["app_key"]),
            "app_secret": dg.EnvVar(VARIABLES["app_secret"]),
            **values,
        }
    return {"kis": KisResource(**values), "warehouse": WarehouseResource(**values)}


def simulator_resources(
    settings: KisSettings, **values: Any
) -> dict[str, KisResource | WarehouseResource]:
    """The resources of a command that started a simulator: its URLs travel as values."""
    urls = {"rest_url": settings.rest_url, "ws_url": settings.ws_url}
    return resources_for("simulator", **urls, master_url=settings.master_url, **values)


def deployment_environ(settings: KisSettings) -> dict[str, str]:
    """What a process a command launches (the `dev` webserver, daemon and code servers) needs
    in its environment to resolve the same resources as the command itself."""
    return {
        DEPLOYMENT_ENV: "simulator",
        VARIABLES["rest_url"]: settings.require_rest_url(),
        VARIABLES["ws_url"]: settings.ws_url or "",
        VARIABLES["master_url"]: settings.master_url,
    }


RESOURCES = resources_for(os.environ.get(DEPLOYMENT_ENV, "local").strip() or "local")
