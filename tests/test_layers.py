"""Data flows one way, and only the Dagster layer imports Dagster (DESIGN §2)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "kis_pipeline"
# package -> modules it must never import
UPPER = ("kis_pipeline.defs", "kis_pipeline.lib", "kis_pipeline.cli")
FORBIDDEN = {
    "common": (
        "dagster",
        "kis_pipeline.kis",
        "kis_pipeline.simulator",
        "kis_pipeline.warehouse",
        "kis_pipeline.streaming",
        *UPPER,
    ),
    "kis": ("dagster", "kis_pipeline.simulator", "kis_pipeline.warehouse", *UPPER),
    "simulator": (
        "dagster",
        "kis_pipeline.warehouse",
        "kis_pipeline.streaming",
        *UPPER,
    ),
    "warehouse": ("dagster", "kis_pipeline.simulator", *UPPER),
    "streaming": ("dagster", "kis_pipeline.simulator", *UPPER),
    "lib": ("kis_pipeline.simulator", "kis_pipeline.defs", "kis_pipeline.cli"),
    "defs": ("kis_pipeline.cli",),
}
# The package root holds the code location and nothing else.
ROOT_FILES = ["__init__.py", "definitions.py", "py.typed"]
ROOT_IMPORTS = ("kis_pipeline.defs", "kis_pipeline.lib")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_keeps_to_its_layer(package: str) -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in sorted((PACKAGE / package).rglob("*.py"))
        for name in sorted(imports(path))
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[package])
    ]
    assert offenders == []


def test_the_package_root_holds_only_the_code_location() -> None:
    assert sorted(p.name for p in PACKAGE.iterdir() if p.is_file()) == ROOT_FILES
    offenders = [
        name
        for name in sorted(imports(PACKAGE / "definitions.py"))
        if name.startswith("kis_pipeline.") and not name.startswith(ROOT_IMPORTS)
    ]
    assert offenders == []
