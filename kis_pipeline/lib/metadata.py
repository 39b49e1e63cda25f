"""Materialization and check metadata every domain writes the same way: rows, a preview, the
client's calls, the lake snapshot, and the keys a check found wrong."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
import polars as pl

from kis_pipeline.kis.client import ClientStats, KisClient

PREVIEW_ROWS = 5


def client_metadata(
    stats: ClientStats | KisClient, *, planned_calls: int | None = None
) -> dict[str, dg.MetadataValue]:
    """Materialization metadata for what a client did: calls, retries, limiter wait.

    Pass `planned_calls` when the asset planned its calls up front, so that the run page shows
    planned against made.
    """
    if isinstance(stats, KisClient):
        stats = stats.stats
    snap = stats.snapshot()
    meta: dict[str, dg.MetadataValue] = {
        "calls": dg.MetadataValue.int(int(snap["calls"])),
        # REST calls for data, without token issuance (which the client counts as calls too).
        "data_calls": dg.MetadataValue.int(data_calls(snap)),
        "retries": dg.MetadataValue.int(int(snap["retries"])),
        "limiter_wait_s": dg.MetadataValue.float(float(snap["limiter_wait_s"])),
        "token_issues": dg.MetadataValue.int(int(snap["token_issues"])),
        "calls_by_tr_id": dg.MetadataValue.json(dict(snap["calls_by_tr_id"])),
    }
    if planned_calls is not None:
        meta["calls_planned"] = dg.MetadataValue.int(int(planned_calls))
    return meta


# The lake snapshot a materialization committed: `kis-pipeline sql --snapshot N` reads the
# warehouse exactly as that run left it.
SNAPSHOT_KEY = "lake_snapshot"


def snapshot_metadata(snapshot: int | None) -> dict[str, dg.MetadataValue]:
    return {} if snapshot is None else {SNAPSHOT_KEY: dg.MetadataValue.int(snapshot)}


def frame_metadata(
    frame: pl.DataFrame, *, bytes_written: int | None = None, preview_rows: int = PREVIEW_ROWS
) -> dict[str, dg.MetadataValue]:
    """Row count, bytes and a small markdown preview of what was written."""
    meta: dict[str, dg.MetadataValue] = {
        "rows": dg.MetadataValue.int(frame.height),
        "preview": dg.MetadataValue.md(markdown_preview(frame, preview_rows)),
    }
    if bytes_written is not None:
        meta["bytes"] = dg.MetadataValue.int(int(bytes_written))
    return meta


def markdown_preview(frame: pl.DataFrame, rows: int = PREVIEW_ROWS) -> str:
    """The first `rows` rows of a frame as a markdown table (empty frames say so)."""
    if frame.is_empty():
        return "_no rows_"
    head = frame.head(rows)
    lines = [
        "| " + " | ".join(head.columns) + " |",
        "|" + "---|" * len(head.columns),
    ]
    for row in head.iter_rows():
        lines.append("| " + " | ".join("" if v is None else str(v) for v in row) + " |")
    return "\n".join(lines)


def check_metadata(
    offending: pl.DataFrame | list[Any], *, limit: int = 20, **extra: Any
) -> dict[str, dg.MetadataValue]:
    """Asset check metadata naming the offending keys (at most `limit`) and how many there are."""
    rows: list[Any] = (
        offending.head(limit).to_dicts()
        if isinstance(offending, pl.DataFrame)
        else list(offending[:limit])
    )
    count = offending.height if isinstance(offending, pl.DataFrame) else len(offending)
    meta: dict[str, dg.MetadataValue] = {
        "offending_count": dg.MetadataValue.int(count),
        "offending": dg.MetadataValue.json(_jsonable(rows)),
    }
    for name, value in extra.items():
        meta[name] = metadata_value(value)
    return meta


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def metadata_value(value: Any) -> dg.MetadataValue:
    if isinstance(value, dg.MetadataValue):
        return value
    if isinstance(value, bool):
        return dg.MetadataValue.bool(value)
    if isinstance(value, int):
        return dg.MetadataValue.int(value)
    if isinstance(value, float):
        return dg.MetadataValue.float(value)
    if isinstance(value, str):
        return dg.MetadataValue.text(value)
    return dg.MetadataValue.json(_jsonable(value))


def data_calls(snapshot: Mapping[str, Any]) -> int:
    """Calls of a `ClientStats.snapshot()` that were data requests (TR_IDs, not /oauth2)."""
    by_tr = snapshot.get("calls_by_tr_id", {})
    return sum(int(n) for label, n in by_tr.items() if not str(label).startswith("/"))
