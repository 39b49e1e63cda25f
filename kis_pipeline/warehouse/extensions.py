"""DuckDB extensions from the Python packages that ship them, never from the network.

DuckDB downloads an extension on first use, which fails on CI, on these machines and on
air-gapped servers. The `duckdb-extension-*` packages (pinned beside duckdb in pyproject.toml)
carry each binary for exactly our DuckDB release, at
`<package>/extensions/v<duckdb version>/<file name>.duckdb_extension`. An extension is loaded if
it is already installed in DuckDB's extension directory, else installed from that file; the file
name is the extension's entry point (`sqlite_scanner`, `postgres_scanner`), not its alias.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import duckdb

# extension -> the package that ships it
PACKAGES = {
    "ducklake": "duckdb_extension_ducklake",
    "sqlite_scanner": "duckdb_extension_sqlite_scanner",
    "postgres_scanner": "duckdb_extension_postgres_scanner",
    "httpfs": "duckdb_extension_httpfs",
}


class ExtensionMissing(RuntimeError):
    """An extension is neither installed nor shipped for this DuckDB release."""


def packaged_file(name: str) -> Path:
    """The extension binary the package ships for the running DuckDB release."""
    package = PACKAGES[name]
    try:
        root = resources.files(package)
    except ModuleNotFoundError:
        raise ExtensionMissing(
            f"DuckDB extension {name} is not installed and package {package.replace('_', '-')} "
            "is missing; reinstall kis-pipeline (`make venv`)"
        ) from None
    path = Path(str(root / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"))
    if not path.is_file():
        raise ExtensionMissing(
            f"package {package.replace('_', '-')} has no {name} extension for DuckDB "
            f"{duckdb.__version__}; install the release of both that pyproject.toml pins"
        )
    return path


def extension_directory() -> Path:
    """DuckDB's own default (so the DuckDB command line finds what we installed), found even
    when HOME is not set."""
    return Path.home() / ".duckdb" / "extensions"


def load(
    con: duckdb.DuckDBPyConnection, names: tuple[str, ...], directory: Path | None = None
) -> None:
    """Load `names` into `con`, installing each from its package when it is not installed yet
    in `directory` (default: `extension_directory()`)."""
    folder = str(directory or extension_directory()).replace("'", "''")
    con.execute(f"SET extension_directory = '{folder}'")
    # Nothing may reach for the network behind our back, whatever a query asks for.
    con.execute("SET autoinstall_known_extensions = false")
    for name in names:
        try:
            con.execute(f"LOAD {name}")
        except duckdb.IOException:
            con.execute(f"INSTALL '{_quoted(str(packaged_file(name)))}'")
            con.execute(f"LOAD {name}")


def _quoted(text: str) -> str:
    return text.replace("'", "''")
