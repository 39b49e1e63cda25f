"""Keeping credentials out of logs, reprs, exception messages and files."""

from __future__ import annotations

from collections.abc import Iterable

MASK = "***"


class Secret(str):
    """A string whose repr and str never show the value; `.reveal()` returns it.

    Subclassing str keeps it usable where httpx wants header values, while an accidental
    f-string, log call or dataclass repr shows only the mask.
    """

    def __repr__(self) -> str:
        return f"Secret({MASK!r})" if self else "Secret('')"

    def __str__(self) -> str:
        return MASK if self else ""

    def __format__(self, spec: str) -> str:
        return str(self).__format__(spec)

    def reveal(self) -> str:
        return str.__str__(self)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of the given secret values in `text` with the mask."""
    for value in secrets:
        raw = value.reveal() if isinstance(value, Secret) else value
        if raw and len(raw) >= 4:
            text = text.replace(raw, MASK)
    return text
