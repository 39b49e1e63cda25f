"""The collector's heartbeat file: `<spool>/heartbeat-<key_id>.json`, rewritten every second.

It says the collector is alive (`updated_ns` from its writer thread, `loop_ns` from its event
loop: both must be fresh), which session it is in, and how much it has spooled. Sensors and
people read it; nothing depends on it for correctness except crash recovery, which takes the
dead collector's last known time from it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

DEFAULT_STALE_S = 15.0


def write_heartbeat(path: Path, data: dict[str, Any]) -> None:
    """Replace the file atomically (no fsync: a lost heartbeat costs nothing)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":")))
    os.replace(tmp, path)


def read_heartbeat(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_alive(data: dict[str, Any] | None, *, stale_s: float = DEFAULT_STALE_S) -> bool:
    """True if both the writer thread and the event loop beat within `stale_s`."""
    if not data or data.get("stopped"):
        return False
    now = time.time_ns()
    horizon = now - int(stale_s * 1e9)
    return int(data.get("updated_ns") or 0) >= horizon and int(data.get("loop_ns") or 0) >= horizon
