"""Progress of a running asset, published as a small JSON file for `kis-pipeline backfill`.

An asset run may live in another process (a Dagster executor subprocess), so the asset writes
its counters to `<dir>/<asset>.json` (atomic replace, at most a few times a second) and the
command polls the directory. The directory comes from the run tag `kis/progress_dir`; without
it nothing is written.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

WRITE_INTERVAL_S = 0.5


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
