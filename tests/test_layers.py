"""Data flows one way, and only the Dagster layer imports Dagster (DESIGN §2)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "kis_pipeline"
# package -> modules it must never import
FORBIDDEN = {
    "kis": ("dagster", "kis_pipeline.simulator", "kis_pipeline.warehouse", "kis_pipeline.defs"),
    "simulator": (
        "dagster",
        "kis_pipeline.defs",
        "kis_pipeline.warehouse",
        "kis_pipeline.streaming",
    ),
    "warehouse": ("dagster", "kis_pipeline.defs", "kis_pipeline.simulator"),
    "streaming": ("dagster", "kis_pipeline.defs", "kis_pipeline.simulator"),
}


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
