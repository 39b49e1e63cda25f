"""Dependencies point one way only, and only the Dagster layers import Dagster (DESIGN §2).

The import graph of `kis_pipeline` is read from the source (every `import` statement, at module
level or inside a function, `TYPE_CHECKING` blocks included) and walked transitively: a layer
must not reach, through any chain of imports, a module its row of `LAYERS` does not allow. An
import names one module (`from a.b import c` is `a.b.c` when that is a module, else `a.b`), as
import-linter counts them; the package `__init__` that Python runs on the way is not an edge.
Each package's public surface (`__all__`) is checked the way httpx's test_exported_members does.
"""

from __future__ import annotations
import __future__

import ast
import importlib
import types
from collections.abc import Mapping
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "kis_pipeline"
ROOT = "kis_pipeline"

# The layers of kis_pipeline, lowest first: what each may import (the table of issue 13). A
# package that does not exist yet is checked once it does; `definitions` is the module
# kis_pipeline/definitions.py, the only one at the root besides __init__.py.
LAYERS: dict[str, frozenset[str]] = {
    "common": frozenset(),
    "warehouse": frozenset({"common"}),
    "kis": frozenset({"common"}),
    "simulator": frozenset({"common"}),  # and PROTOCOL_CONSTANTS of kis
    "ingest": frozenset({"common", "kis", "warehouse"}),
    "streaming": frozenset({"common", "kis", "warehouse"}),
    "lib": frozenset({"common", "kis", "warehouse", "ingest", "streaming"}),
    "defs": frozenset({"common", "kis", "simulator", "warehouse", "ingest", "streaming", "lib"}),
    # The data-quality report: SQL on the lake and frames the command hands it.
    "report": frozenset({"common", "warehouse"}),
    # The command loads the code location (`definitions`) to plan and run what it defines.
    "cli": frozenset(
        {
            "common",
            "kis",
            "simulator",
            "warehouse",
            "ingest",
            "streaming",
            "lib",
            "defs",
            "definitions",
            "report",
        }
    ),
    "definitions": frozenset({"defs", "lib"}),
}
# The modules of kis the simulator may share with the client: the wire format, nothing else.
PROTOCOL_CONSTANTS = frozenset({"kis_pipeline.kis.ws.columns"})
# Third-party packages a layer must never import, directly or through what it imports.
NO_DAGSTER = ("dagster",)
FORBIDDEN_EXTERNAL: dict[str, tuple[str, ...]] = {
    "common": NO_DAGSTER,
    "warehouse": NO_DAGSTER,
    "kis": NO_DAGSTER,
    "simulator": NO_DAGSTER,
    "ingest": NO_DAGSTER,
    "streaming": NO_DAGSTER,
    "report": NO_DAGSTER,
}

# Upward imports that other parts of issue 13 remove (the simulator's own copy of what it now
# shares with the client). Each is reported until it is gone; then delete its line here.
KNOWN_VIOLATIONS = frozenset(
    {
        "simulator: kis_pipeline.simulator.state imports kis_pipeline.kis.settings",
    }
)

Graph = Mapping[str, frozenset[str]]


def module_names(root: Path) -> dict[str, Path]:
    """Every module of the package at `root` by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _resolve(name: str, known: set[str]) -> str | None:
    """The module an import of `name` loads: itself, or the nearest enclosing known module."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, path: Path, known: set[str]) -> tuple[set[str], set[str]]:
    """The kis_pipeline modules `module` imports, and the top-level names of all others."""
    inside, outside = set(), set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            names = [f"{base}.{alias.name}" for alias in node.names]
            names = [n if n in known else base for n in names]
        else:
            continue
        for name in names:
            if name == ROOT or name.startswith(ROOT + "."):
                resolved = _resolve(name, known)
                if resolved is not None and resolved != module:
                    inside.add(resolved)
            elif name != "__future__" and not name.startswith("__future__."):
                outside.add(name.split(".")[0])
    return inside, outside


def import_graph(root: Path = PACKAGE) -> tuple[Graph, Graph]:
    """(kis_pipeline module -> the kis_pipeline modules it imports, module -> third parties)."""
    paths = module_names(root)
    known = set(paths)
    inside, outside = {}, {}
    for module, path in paths.items():
        found_inside, found_outside = imports_of(module, path, known)
        inside[module], outside[module] = frozenset(found_inside), frozenset(found_outside)
    return inside, outside


def layer_of(module: str) -> str:
    """The row of `LAYERS` a module belongs to (a module at the root is its own name)."""
    return module.split(".")[1] if "." in module else ""


def reachable(layer: str) -> frozenset[str]:
    """The layers `layer` may reach through any chain of imports."""
    allowed = set(LAYERS[layer])
    for below in LAYERS[layer]:
        allowed |= reachable(below)
    return frozenset(allowed)


def _may_import(layer: str, target: str) -> bool:
    target_layer = layer_of(target)
    if target_layer == layer or target_layer not in LAYERS:
        return True  # a module with no layer yet is `test_root_holds_...`'s to judge
    if layer == "simulator" and target in PROTOCOL_CONSTANTS:
        return True
    return target_layer in reachable(layer)


def violations(inside: Graph, outside: Graph) -> set[str]:
    """Every import that breaks `LAYERS` or `FORBIDDEN_EXTERNAL`, directly or through a chain of
    allowed imports: '<layer>: <module> imports <target>', with ' via <chain>' when indirect
    (<module> is the last of its layer on the way)."""
    found = set()
    for start in sorted(inside):
        layer = layer_of(start)
        if layer not in LAYERS:
            continue
        forbidden = set(FORBIDDEN_EXTERNAL.get(layer, ()))
        # Breadth first, so the chain reported is a shortest one.
        chains = {start: [start]}
        queue = [start]
        while queue:
            module = queue.pop(0)
            bad = [*sorted(set(outside.get(module, ())) & forbidden)]
            for target in sorted(inside.get(module, ())):
                if target in chains:
                    continue
                if not _may_import(layer, target):
                    bad.append(target)
                elif layer_of(target) in LAYERS:
                    chains[target] = [*chains[module], target]
                    queue.append(target)
            found.update(_said(layer, chains[module], target) for target in bad)
    return found


def _said(layer: str, chain: list[str], target: str) -> str:
    while len(chain) > 1 and layer_of(chain[1]) == layer:
        chain = chain[1:]
    via = f" via {' -> '.join(chain[1:])}" if len(chain) > 1 else ""
    return f"{layer}: {chain[0]} imports {target}{via}"


GRAPH = import_graph()


def test_the_layer_table_names_every_package() -> None:
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert packages - set(LAYERS) == set(), "add the new package to LAYERS in tests/test_layers.py"


def test_root_holds_only_definitions() -> None:
    unlayered = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__", "definitions"}
    assert unlayered == set(), "move the module into a layer (most commands belong in cli/)"


def test_dependencies_point_one_way_only() -> None:
    found = violations(*GRAPH)
    assert found - KNOWN_VIOLATIONS == set()
    assert KNOWN_VIOLATIONS - found == set(), "fixed: remove it from KNOWN_VIOLATIONS"


def test_a_planted_upward_import_is_reported(tmp_path: Path) -> None:
    """The warehouse importing the tick tables of streaming inside a function, as it once did."""
    root = tmp_path / ROOT
    files = {
        "__init__.py": "",
        "common/__init__.py": "",
        "common/files.py": "import os\n",
        "warehouse/__init__.py": "from kis_pipeline.warehouse.store import Warehouse\n",
        "warehouse/store.py": (
            "from kis_pipeline.common import files\n\n"
            "class Warehouse:\n"
            "    def tables(self):\n"
            "        from kis_pipeline.streaming import tables\n"
        ),
        "streaming/__init__.py": "",
        "streaming/tables.py": "from ..warehouse import Warehouse\nimport dagster\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)

    assert violations(*import_graph(root)) == {
        "warehouse: kis_pipeline.warehouse.store imports kis_pipeline.streaming.tables",
        "streaming: kis_pipeline.streaming.tables imports dagster",
    }


def test_an_indirect_import_is_followed() -> None:
    """Each step allowed, the chain not: the simulator may read the wire columns of kis, but
    not what those columns would import from the client."""
    inside = {
        "kis_pipeline.simulator.ws": frozenset({"kis_pipeline.kis.ws.columns"}),
        "kis_pipeline.kis.ws.columns": frozenset({"kis_pipeline.kis.client"}),
        "kis_pipeline.kis.client": frozenset({"kis_pipeline.common.clock"}),
        "kis_pipeline.common.clock": frozenset(),
    }
    assert violations(inside, {}) == {
        "simulator: kis_pipeline.simulator.ws imports kis_pipeline.kis.client "
        "via kis_pipeline.kis.ws.columns"
    }


def _packages() -> list[str]:
    return sorted(m for m, path in module_names(PACKAGE).items() if path.name == "__init__.py")


@pytest.mark.parametrize("name", _packages())
def test_a_package_exports_only_public_members_that_exist(name: str) -> None:
    package = importlib.import_module(name)
    exported = list(getattr(package, "__all__", ()))
    assert [m for m in exported if m.startswith("_")] == []
    assert [m for m in exported if not hasattr(package, m)] == []
    assert len(set(exported)) == len(exported)


# A Dagster domain's __init__ imports its parts to build `defs`; only the plain-Python packages
# promise that what their __init__ holds is what they export.
PLAIN_PYTHON = sorted(p for p in _packages() if layer_of(p) not in {"defs", "lib", "cli"})


@pytest.mark.parametrize("name", PLAIN_PYTHON)
def test_a_plain_package_exports_every_public_member_it_holds(name: str) -> None:
    """As httpx's tests/test_exported_members.py: `__all__` lists every public member the
    package's `__init__` imports or defines (submodules aside); without one, it holds none."""
    package = importlib.import_module(name)
    members = {
        member
        for member, value in vars(package).items()
        if not member.startswith("_")
        and not isinstance(value, types.ModuleType | __future__._Feature)
    }
    assert members - set(getattr(package, "__all__", ())) == set()
