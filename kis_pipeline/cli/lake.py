"""The lake subcommands of `kis-pipeline`: `sql`, `shell` and `warehouse migrate`.

`sql` answers one query on the lake, as a table for people or as CSV/JSON for scripts, now or
at a past snapshot (`--snapshot N`, `--as-of TIME`). `shell` opens the DuckDB command line on
the lake, read-only. Each returns the process exit code and prints errors as one line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import duckdb
import polars as pl

from kis_pipeline.common.clock import KST_NAME
from kis_pipeline.defs.backend import open_warehouse
from kis_pipeline.kis.settings import KisSettings

MAX_PRINTED_ROWS = 100
FORMATS = ("table", "csv", "json")


def sql_command(
    query: str,
    *,
    fmt: str = "table",
    snapshot: int | None = None,
    as_of: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    from kis_pipeline.warehouse import LakeError, connect

    # Reading the warehouse calls no API, so it needs no app key in any KIS_ENV.
    settings = KisSettings.from_env(require_keys=False)
    try:
        wh = open_warehouse(settings)
        with connect(wh, snapshot=snapshot, as_of=as_of) as con:
            relation = con.sql(query)
            if relation is None:
                print("OK", file=out)
                return 0
            frame = in_korean_time(relation.pl())
    except LakeError as exc:
        print(f"error: {exc}", file=err)
        return 1
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"error: {first}", file=err)
        return 1
    if fmt == "json":
        json.dump(
            [_plain_row(row) for row in frame.iter_rows(named=True)],
            out,
            ensure_ascii=False,
            allow_nan=False,
        )
        out.write("\n")
        return 0
    if fmt == "csv":
        out.write(frame.write_csv())
        return 0
    _print_table(frame, out)
    return 0


def in_korean_time(frame: pl.DataFrame) -> pl.DataFrame:
    """Zoned times shown in the exchange's zone (the lake session runs in UTC)."""
    return frame.with_columns(
        pl.col(name).dt.convert_time_zone(KST_NAME)
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone
    )


def _print_table(frame: pl.DataFrame, out: TextIO) -> None:
    shown = frame.head(MAX_PRINTED_ROWS)
    with pl.Config(
        tbl_rows=MAX_PRINTED_ROWS,
        tbl_cols=-1,
        tbl_width_chars=200,
        fmt_str_lengths=60,
        tbl_hide_dataframe_shape=True,
    ):
        print(shown, file=out)
    more = f", first {MAX_PRINTED_ROWS} shown" if frame.height > MAX_PRINTED_ROWS else ""
    print(f"({frame.height} row{'s' if frame.height != 1 else ''}{more})", file=out)


def _plain_row(row: dict[str, Any]) -> dict[str, Any]:
    return {name: _plain(value) for name, value in row.items()}


def _plain(value: Any) -> Any:
    """A JSON value: dates and times as ISO strings, numbers as numbers (NaN as null)."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return value


def shell_script(settings: KisSettings) -> str:
    """The DuckDB CLI statements that attach the lake read-only as `lake` and use it, with an
    empty view for each declared table it does not hold yet."""
    from kis_pipeline.warehouse import lake as lakes
    from kis_pipeline.warehouse.extensions import extension_directory
    from kis_pipeline.warehouse.lake import TIME_ZONE, attach_sql, extensions_for, secret_sql
    from kis_pipeline.warehouse.placeholders import placeholder_statements

    lake = open_warehouse(settings).lake
    with lakes.connect(lake, read_only=True) as con:
        placeholders = [f"{statement};" for statement in placeholder_statements(con)]
    lines = [f"SET extension_directory = '{extension_directory()}';"]
    lines += [f"LOAD {name};" for name in extensions_for(lake)]
    lines.append(f"SET TimeZone = '{TIME_ZONE}';")
    if lake.s3 is not None:
        lines.append(secret_sql(lake.s3) + ";")
    lines += [attach_sql(lake, read_only=True) + ";", "USE lake;", *placeholders]
    return "\n".join(lines) + "\n"


def shell_command(*, err: TextIO | None = None) -> int:
    """Replace this process with the DuckDB command line on the lake, read-only."""
    from kis_pipeline.warehouse import LakeError, connect

    err = err or sys.stderr
    settings = KisSettings.from_env(require_keys=False)
    try:
        # Opening it once here installs the extensions the CLI loads, and checks the catalog.
        connect(open_warehouse(settings)).close()
    except LakeError as exc:
        print(f"error: {exc}", file=err)
        return 1
    cli = Path(sys.executable).with_name("duckdb")
    executable = str(cli) if cli.exists() else shutil.which("duckdb")
    if executable is None:
        print("error: the duckdb command line is not installed; run `make venv`", file=err)
        return 1
    # The script holds the S3 secret when there is one: private, and gone when DuckDB is.
    handle, script = tempfile.mkstemp(prefix="kis-shell-", suffix=".sql")
    with os.fdopen(handle, "w") as file:
        file.write(shell_script(settings))
    print("DuckDB on the lake, read-only; `.tables` lists the tables, `.quit` leaves.", file=err)
    # Ctrl-C belongs to the DuckDB prompt (it cancels a query there), not to this wrapper.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return subprocess.call([executable, "-init", script])
    finally:
        signal.signal(signal.SIGINT, previous)
        os.unlink(script)


def migrate_command(*, err: TextIO | None = None) -> int:
    from kis_pipeline.warehouse import LakeError, WarehouseError
    from kis_pipeline.warehouse.migrate import MigrateError, migrate

    err = err or sys.stderr
    settings = KisSettings.from_env(require_keys=False)
    try:
        result = migrate(open_warehouse(settings), progress=err)
    except (MigrateError, LakeError, WarehouseError) as exc:
        print(f"error: {exc}", file=err)
        return 1
    print(result.summary(), file=err)
    return 0
