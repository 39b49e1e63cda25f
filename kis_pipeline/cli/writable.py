"""The folders a command writes: checked before it starts, and a refused write said in one line.

A read-only mount, a folder the user may not write, or a full disk otherwise surfaces deep in a
library (SQLite under the Dagster instance, DuckDB, a lock file of the spool) as a traceback or a
bare `[Errno 30]`. Each `Place` carries the setting that moves it, so the line can say what to do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from kis_pipeline.kis.settings import KisSettings

READ_ONLY = (errno.EROFS,)
FORBIDDEN = (errno.EACCES, errno.EPERM)
FULL = (errno.ENOSPC, errno.EDQUOT)
WRITE_ERRNOS = READ_ONLY + FORBIDDEN + FULL
# Storage libraries that wrap the OS error lose its errno; their messages still name the cause.
_STORAGE_LIBRARIES = ("sqlite3", "sqlalchemy", "duckdb", "_duckdb")
_MESSAGES = {
    "no space left on device": errno.ENOSPC,
    "database or disk is full": errno.ENOSPC,
    "read-only file system": errno.EROFS,
    "attempt to write a readonly database": errno.EROFS,
    "permission denied": errno.EACCES,
}
# SQLite's own words for a write it could not make; which of the above it was is unknown.
_SQLITE_WRITE_FAILURES = ("disk i/o error", "unable to open database file")
PROBE_BYTES = 4096
WAREHOUSE, DAGSTER = "warehouse", "Dagster instance"


@dataclass(frozen=True)
class Place:
    """A folder a command writes, and the environment variable that chooses it."""

    path: Path
    setting: str
    what: str


class NotWritable(Exception):
    """A folder a command needs cannot be written; the message is one line saying what to do."""


def places(settings: KisSettings, *, dagster_home: Path | None = None) -> list[Place]:
    """Where a command writes: the warehouse, the state dir and, for batch work, Dagster's home."""
    found = [
        Place(settings.warehouse, "KIS_WAREHOUSE", WAREHOUSE),
        Place(settings.state_dir, "KIS_STATE_DIR", "state dir"),
    ]
    if dagster_home is not None:
        inside = _is_within(dagster_home, settings.warehouse)
        setting = "KIS_WAREHOUSE" if inside else "DAGSTER_HOME"
        found.append(Place(dagster_home, setting, DAGSTER))
    return found


def require_writable(wanted: Sequence[Place]) -> None:
    """Create each folder if needed and write a probe into it; raise `NotWritable` if refused."""
    for place in wanted:
        try:
            place.path.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=place.path, prefix=".write-probe-") as probe:
                probe.write(b"\0" * PROBE_BYTES)
                probe.flush()
                os.fsync(probe.fileno())
        except OSError as exc:
            if exc.errno not in WRITE_ERRNOS:
                raise
            raise NotWritable(_line(exc.errno, place.path, wanted)) from exc


@contextlib.contextmanager
def reporting(wanted: Sequence[Place]) -> Iterator[None]:
    """Turn a refused write inside the block into `NotWritable`, naming the place and setting."""
    try:
        yield
    except Exception as exc:
        line = explain(exc, wanted)
        if line is None:
            raise
        raise NotWritable(line) from exc


def explain(exc: BaseException, wanted: Sequence[Place]) -> str | None:
    """One line for an error that is a refused write (read-only, forbidden, full), else None."""
    for link in _chain(exc):
        if isinstance(link, OSError) and link.errno in WRITE_ERRNOS:
            where = Path(link.filename) if link.filename else _path_of(wanted, WAREHOUSE)
            return _line(link.errno, where, wanted)
        if type(link).__module__.split(".")[0] not in _STORAGE_LIBRARIES:
            continue
        if isinstance(getattr(link, "orig", None), BaseException):
            continue  # SQLAlchemy's wrapper: its driver error, next in the chain, says it plainly
        first = (str(link).strip().splitlines() or [""])[0]
        text = first.lower()
        # SQLite is the Dagster instance's; DuckDB writes only the warehouse catalog.
        owner = DAGSTER if type(link).__module__.startswith("sql") else WAREHOUSE
        code = _errno_named(text)
        if code is not None:
            return _line(code, _path_of(wanted, owner, WAREHOUSE), wanted)
        if any(words in text for words in _SQLITE_WRITE_FAILURES):
            return _sqlite_line(first, wanted)
    return None


def diagnose(wanted: Sequence[Place], errors: Iterable[str]) -> str | None:
    """Why a run that failed could not write, if it is that: a place that cannot be written now,
    else a refused write named in the run's error messages (the disk was full, then freed)."""
    try:
        require_writable(wanted)
    except NotWritable as exc:
        return str(exc)
    for text in errors:
        code = _errno_named(text.lower())
        # "Permission denied" may be an API's words too; the other phrases are only the disk's.
        if code is not None and code not in FORBIDDEN:
            return _line(code, _path_of(wanted, WAREHOUSE), wanted)
    return None


def _errno_named(text: str) -> int | None:
    return next((code for words, code in _MESSAGES.items() if words in text), None)


def _line(code: int, where: Path | None, wanted: Sequence[Place]) -> str:
    place = _owner(where, wanted)
    shown = where or (place.path if place else Path("."))
    move = (
        f"point {place.setting} at a writable folder"
        if place
        else "point KIS_WAREHOUSE and KIS_STATE_DIR at writable folders"
    )
    if code in READ_ONLY:
        return f"cannot write {shown}: the file system is read-only; {move}"
    if code in FORBIDDEN:
        return f"cannot write {shown}: permission denied; make it writable for this user or {move}"
    return (
        f"cannot write {shown}: no space left on its disk ({_free(shown)} free); free some space "
        "there and run the command again"
    )


def _sqlite_line(error: str, wanted: Sequence[Place]) -> str:
    home = _path_of(wanted, DAGSTER, WAREHOUSE) or Path(".")
    try:
        require_writable([p for p in wanted if p.path == home])
    except NotWritable as exc:
        return str(exc)
    return (
        f"cannot write the Dagster instance in {home} ({error}; {_free(home)} free on its disk): "
        "check that the disk has free space and is writable, then run the command again"
    )


def _free(path: Path) -> str:
    """Free space on the disk holding `path` (its nearest existing parent), for the message."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            free = shutil.disk_usage(candidate).free
            return f"{free / 1e6:.1f} MB" if free >= 1e5 else f"{free / 1e3:.0f} kB"
    return "unknown"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, its causes and contexts, and the driver errors SQLAlchemy keeps in `orig`."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        link = pending.pop(0)
        if link is None or id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        orig = getattr(link, "orig", None)
        pending += [orig if isinstance(orig, BaseException) else None, link.__cause__]
        pending.append(link.__context__)


def _owner(path: Path | None, wanted: Sequence[Place]) -> Place | None:
    """The most specific place holding `path` (the Dagster home before the warehouse)."""
    if path is None:
        return None
    holding = [p for p in wanted if _is_within(path, p.path)]
    return max(holding, key=lambda p: len(p.path.resolve().parts), default=None)


def _path_of(wanted: Sequence[Place], *whats: str) -> Path | None:
    """The folder of the first of `whats` the command writes."""
    for what in whats:
        for place in wanted:
            if place.what == what:
                return place.path
    return None


def _is_within(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())
