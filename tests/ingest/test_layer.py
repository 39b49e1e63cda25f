"""The ingest layer runs outside Dagster: importing all of it loads neither Dagster nor the
Dagster wiring (`kis_pipeline.defs`) nor the simulator."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import kis_pipeline.ingest


def test_ingest_imports_nothing_above_it() -> None:
    modules = [
        f"kis_pipeline.ingest.{m.name}" for m in pkgutil.iter_modules(kis_pipeline.ingest.__path__)
    ]
    assert len(modules) > 10
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "above = ('dagster', 'kis_pipeline.defs', 'kis_pipeline.simulator')\n"
        "print(sorted(m for m in sys.modules if m.startswith(above)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
