"""The Dagster code location: everything under `defs/`, found by Dagster's own loader, plus the
shared resources.

The loader imports every module of the `defs` package and collects what each declares at
module level (assets, checks, jobs, schedules, sensors, a domain's `defs`); an object it meets
more than once is the same object and counts once. It is the loader `dg.load_from_defs_folder`
runs, given the package directly, so that an installed copy needs no pyproject.toml beside it;
like that function it silences the preview notices its own module loader raises. The jobs'
executor is `KIS_EXECUTOR`'s (`lib/executors.py`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

import dagster as dg

from kis_pipeline import defs as defs_package
from kis_pipeline.defs.resources import RESOURCES
from kis_pipeline.lib.executors import run_executor

T = TypeVar("T")


def _load_defs_package() -> dg.Definitions:
    tree = dg.ComponentTree.from_module(
        defs_module=defs_package, project_root=Path(__file__).resolve().parent
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        loaded = tree.build_defs()
    # The loader lists an object once per module that holds it; callers iterate these lists.
    return dg.Definitions(
        assets=_once(loaded.assets),
        asset_checks=_once(loaded.asset_checks),
        jobs=_once(loaded.jobs),
        schedules=_once(loaded.schedules),
        sensors=_once(loaded.sensors),
    )


def _once(items: Iterable[T] | None) -> list[T]:
    return list({id(item): item for item in items or ()}.values())


def build_defs() -> dg.Definitions:
    """The code location as the environment configures it now (`KIS_EXECUTOR`)."""
    return dg.Definitions.merge(
        _load_defs_package(), dg.Definitions(resources=RESOURCES, executor=run_executor())
    )


defs = build_defs()
