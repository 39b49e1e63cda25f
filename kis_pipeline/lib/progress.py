"""Progress of a running asset, published as a small JSON file for `kis-pipeline backfill`,
and the progress bar that command draws from it.

An asset run may live in another process (a Dagster executor subprocess), so the asset writes
its counters to `<dir>/<asset>.json` (atomic replace, at most a few times a second) and the
command polls the directory. The directory comes from the run tag `kis/progress_dir`; without
it nothing is written.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from kis_pipeline.kis.state import pid_alive

WRITE_INTERVAL_S = 0.5
REFRESH_S = 0.5
# Scratch folders are named after the command's pid, so the next command can remove those of
# a command that was killed (kill -9 runs no cleanup).
SCRATCH_PREFIX = "kis-progress-"
_SCRATCH = re.compile(rf"^{SCRATCH_PREFIX}p(\d+)-")


def scratch_dir() -> tempfile.TemporaryDirectory[str]:
    """A progress folder for this command, removed when it ends."""
    return tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}p{os.getpid()}-")


def sweep_scratch(root: Path | None = None) -> int:
    """Remove the progress folders of commands that are gone; returns how many."""
    root = Path(root or tempfile.gettempdir())
    swept = 0
    for folder in root.glob(f"{SCRATCH_PREFIX}*"):
        found = _SCRATCH.match(folder.name)
        if folder.is_dir() and found is not None and not pid_alive(int(found.group(1))):
            shutil.rmtree(folder, ignore_errors=True)
            swept += 1
    return swept


class Progress:
    """Counters of one asset run: partitions, calls planned and made, retries, rows."""

    def __init__(
        self,
        directory: Path | None,
        asset: str,
        *,
        partitions_total: int = 0,
        calls_planned: int = 0,
    ) -> None:
        self.path = None if directory is None else Path(directory) / f"{asset}.json"
        self._lock = threading.Lock()
        self._last_write = 0.0
        self.state: dict[str, Any] = {
            "asset": asset,
            "started_at": time.time(),
            "updated_at": time.time(),
            "partitions_total": partitions_total,
            "partitions_done": 0,
            "calls_planned": calls_planned,
            "calls": 0,
            "retries": 0,
            "limiter_wait_s": 0.0,
            "rows": 0,
            "bytes": 0,
            "failures": {},
            "done": False,
        }
        self._write(force=True)

    def update(self, *, force: bool = False, **values: Any) -> None:
        with self._lock:
            self.state.update(values)
            self.state["updated_at"] = time.time()
        self._write(force=force)

    def add(self, **deltas: float) -> None:
        with self._lock:
            for name, delta in deltas.items():
                self.state[name] = self.state.get(name, 0) + delta
            self.state["updated_at"] = time.time()
        self._write()

    def finish(self, **values: Any) -> None:
        self.update(force=True, done=True, finished_at=time.time(), **values)

    def _write(self, *, force: bool = False) -> None:
        if self.path is None:
            return
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last_write < WRITE_INTERVAL_S:
                return
            self._last_write = now
            text = json.dumps(self.state, default=str)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}")
        tmp.write_text(text)
        os.replace(tmp, self.path)


def read_all(directory: Path) -> dict[str, dict[str, Any]]:
    """Every asset's latest published state in `directory`, by asset name."""
    found: dict[str, dict[str, Any]] = {}
    if not directory.is_dir():
        return found
    for path in sorted(directory.glob("*.json")):
        try:
            found[path.stem] = json.loads(path.read_text())
        except (OSError, ValueError):
            # A reader can race the atomic replace on some filesystems; next poll catches up.
            continue
    return found


class ProgressBar:
    """Polls the assets' progress files (or `source`, which returns states of the same
    shape) and redraws one status line."""

    def __init__(
        self,
        directory: Path | None,
        label: str,
        stream: TextIO,
        *,
        source: Callable[[], dict[str, dict[str, Any]]] | None = None,
    ) -> None:
        if source is None:
            assert directory is not None, "a progress bar reads a directory or a source"
            source = partial(read_all, directory)
        self.source = source
        self.label = label
        self.stream = stream
        self.tty = stream.isatty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)
        self._last_plain = 0.0
        self._last_line = ""
        self._started = time.monotonic()
        # Set by the caller once the run has ended: a failed run never looks complete.
        self.failed = False

    def __enter__(self) -> ProgressBar:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        # The final line says whether the run failed; a stop signal landing now (Dagster hands
        # the handlers back as a run ends) is held until it is written, then raised as usual.
        try:
            with _signals_held():
                self._stop.set()
                self._thread.join()
                self.draw(final=True)
        except KeyboardInterrupt:
            # The signal landed before it could be held: the line is still owed.
            with _signals_held():
                self._stop.set()
                self.draw(final=True)
            raise

    def _loop(self) -> None:
        while not self._stop.wait(REFRESH_S):
            self.draw()

    def draw(self, *, final: bool = False) -> None:
        states = self.source()
        elapsed = _clock(time.monotonic() - self._started)
        body = "; ".join(render(state) for state in states.values()) or "running"
        if final and self.failed:
            body = "failed, nothing recorded" + (f" ({body})" if states else "")
        line = f"{self.label}: {body} ({elapsed})"
        if self.tty:
            self.stream.write("\r\x1b[2K" + line[:240] + ("\n" if final else ""))
            self.stream.flush()
            return
        # Plain logs: a line every 10 s at most, and the final one.
        changed = body != self._last_line
        if final or (changed and time.monotonic() - self._last_plain >= 10):
            self._last_plain = time.monotonic()
            self._last_line = body
            self.stream.write(line + "\n")
            self.stream.flush()


def render(state: dict[str, Any]) -> str:
    total = int(state.get("partitions_total", 0))
    done = int(state.get("partitions_done", 0))
    calls = int(state.get("calls", 0))
    planned = int(state.get("calls_planned", 0))
    elapsed = max(float(state.get("updated_at", 0)) - float(state.get("started_at", 0)), 1e-6)
    rate = calls / elapsed if calls else 0.0
    width = 20
    filled = int(width * done / total) if total else 0
    bar = "#" * filled + "." * (width - filled)
    eta = ""
    if not state.get("done") and rate > 0 and planned > calls:
        eta = f" ETA {_clock((planned - calls) / rate)}"
    if "calls_planned" not in state:
        # A backfill the daemon runs: the instance knows its partitions, not its calls.
        failed = int(state.get("partitions_failed", 0))
        return f"{state.get('asset')} [{bar}] {done}/{total} partitions" + (
            f", {failed} failed" if failed else ""
        )
    retries = int(state.get("retries", 0))
    return (
        f"{state.get('asset')} [{bar}] {done}/{total} partitions, "
        f"{calls}/{planned} requests, {rate:.1f}/s{eta}"
        + (f", {retries} retries" if retries else "")
    )


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
