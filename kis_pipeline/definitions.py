"""The Dagster code location: every domain package under `defs/`, plus shared resources.

Each domain package (`defs/<domain>/__init__.py`) exports `defs: dg.Definitions` holding only
what it declares; this module merges them and adds the resources once.
"""

from __future__ import annotations

import importlib
import pkgutil

import dagster as dg

from kis_pipeline import defs as defs_package
from kis_pipeline.defs.resources import RESOURCES


def _domain_definitions() -> list[dg.Definitions]:
    found = []
    for module in sorted(pkgutil.iter_modules(defs_package.__path__), key=lambda m: m.name):
        if not module.ispkg:
            continue
        package = importlib.import_module(f"{defs_package.__name__}.{module.name}")
        domain = getattr(package, "defs", None)
        if isinstance(domain, dg.Definitions):
            found.append(domain)
    return found


defs = dg.Definitions.merge(*_domain_definitions(), dg.Definitions(resources=RESOURCES))
