"""Look for a credential wherever the product writes: files (SQLite databases included, read as
bytes) and captured command output."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


def random_secret() -> str:
    """A 180-character app secret that cannot occur anywhere by chance."""
    return "SCAN" + secrets.token_hex(88)


@dataclass
class Scan:
    """Where a value showed up, and every file that was read to find out."""

    found: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def scan(
    value: str,
    *,
    roots: Iterable[Path] = (),
    texts: Mapping[str, str] | None = None,
    skip: Iterable[Path] = (),
) -> Scan:
    """Every file under `roots` and every named text that holds `value` or a long piece of it.

    The two 32-character ends count too, so a value cut short in a log line is still caught.
    """
    needles = {value, value[:32], value[-32:]} if len(value) > 64 else {value}
    skipped = {p.resolve() for p in skip}
    result = Scan()
    for name, text in (texts or {}).items():
        if any(n in text for n in needles):
            result.found.append(name)
    for root in roots:
        for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
            if path.resolve() in skipped:
                continue
            result.files.append(path)
            data = path.read_bytes()
            if any(n.encode() in data for n in needles):
                result.found.append(str(path))
    return result
