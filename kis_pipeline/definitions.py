"""The Dagster code location: everything under `defs/`, found by Dagster's own loader, plus the
shared resources.

The loader imports every module of the `defs` package and collects what each declares at
module level (assets, checks, jobs, schedules, sensors, a domain's `defs`); an object it meets
more than once is the same object and counts once. It is the loader `dg.load_from_defs_folder`
runs, given the package directly, so that an installed copy needs no pyproject.toml beside it;
like that function it silences the preview notices its own module loader raises.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import dagster as dg

from kis_pipeline import defs as defs_package
from kis_pipeline.defs.resources import RESOURCES


def _load_defs_package() -> dg.Definitions:
    tree = dg.ComponentTree.from_module(
        defs_module=defs_package, project_root=Path(__file__).resolve().parent
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return tree.build_defs()


defs = dg.Definitions.merge(_load_defs_package(), dg.Definitions(resources=RESOURCES))
