"""Per-table manifests: which Parquet files are live, and which partitions they hold.

A table's live files are exactly those listed in `parquet/<table>/_manifest.json`. Writers
publish a change by replacing the manifest atomically under the table's file lock, so a reader
sees either the old set of files or the new one, never a half-written file or a partition twice.
Replaced files stay on disk for a grace period (`retired`), so a reader holding an older catalog
can finish its query.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kis_pipeline.kis.state import read_or_none, write_private

MANIFEST = "_manifest.json"
LOCK = "_manifest.lock"


@dataclass
class Entry:
    """One live file: the partitions it covers and the pieces (e.g. tick segments) in it."""

    file: str  # relative to the table directory
    partitions: list[str]
    parts: list[str] = field(default_factory=list)
    rows: int = 0
    bytes: int = 0
    # The file's columns, in order; None for files listed before columns were recorded.
    columns: list[str] | None = None


@dataclass
class Retired:
    file: str
    at: float


@dataclass
class Manifest:
    version: int = 0
    entries: list[Entry] = field(default_factory=list)
    retired: list[Retired] = field(default_factory=list)

    @classmethod
    def load(cls, table_dir: Path) -> Manifest:
        raw = read_or_none(table_dir / MANIFEST)
        if raw is None:
            return cls()
        data = json.loads(raw)
        return cls(
            version=int(data["version"]),
            entries=[Entry(**e) for e in data["entries"]],
            retired=[Retired(**r) for r in data.get("retired", [])],
        )

    def save(self, table_dir: Path) -> None:
        self.version += 1
        payload = {
            "version": self.version,
            "entries": [asdict(e) for e in self.entries],
            "retired": [asdict(r) for r in self.retired],
        }
        write_private(table_dir / MANIFEST, json.dumps(payload, indent=0).encode())
        # The warehouse is shared data, not a secret: readable by the group and others.
        (table_dir / MANIFEST).chmod(0o644)

    def retire(self, entry: Entry) -> None:
        self.entries.remove(entry)
        self.retired.append(Retired(file=entry.file, at=time.time()))

    def covering(self, partition: str) -> list[Entry]:
        return [e for e in self.entries if partition in e.partitions]

    def partitions(self) -> list[str]:
        return sorted({p for e in self.entries for p in e.partitions})

    def live_files(self) -> set[str]:
        return {e.file for e in self.entries}
