"""What an asset learns of its run: the pool it queues in, the tags its launcher set, its days.

`POOL` is the Dagster concurrency pool that caps how many steps call the KIS REST API at once
(the limit lives in dagster.yaml); the app key's request budget itself is enforced by the
client's shared limiter, so the pool only keeps steps from queueing behind each other.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dagster as dg

POOL = "kis_api"
"""Concurrency pool of every asset that calls the KIS REST API."""

FIRST_IN_RUN = {"dagster/priority": "1", "dagster-celery/priority": "1"}
"""Op tags of the price chain (daily_prices, its adjusted twin, rankings): in a run with other
families these steps go first. They fetch for themselves and then check and derive at length;
meanwhile the run's read-ahead (`lib.read_ahead`) fetches for the steps after them, so their
local work overlaps the calls instead of trailing them. (The celery executor reads a tag of its
own for the same.)"""

SYMBOLS_TAG = "kis/symbols"
"""Run tag restricting the domestic universe (comma-separated), set by `backfill --symbols`."""

PROGRESS_TAG = "kis/progress_dir"
"""Run tag naming the directory where assets publish progress (see `lib.progress`)."""

OWN_TICKERS = "kis/own_tickers"
"""Asset metadata ("true"): the asset's `symbol` column holds tickers of its own list (overseas
ones), which the domestic `kis/symbols` restriction does not apply to."""

ONCE_IN_BACKFILL = "kis/once_in_backfill"
"""Asset metadata ("true"): an asset without date partitions that a range backfill runs once,
before the assets that read it, because it is built from the warehouse (and a handful of
calls) as of today (`listings`)."""

ALLOW_INCOMPLETE_TAG = "kis/allow_incomplete"
"""Run tag ("true"): missing rows and rejected records warn instead of failing the run
(`lib.quality`), set by `backfill --allow-incomplete`."""


def tagged_symbols(value: str) -> tuple[str, ...] | None:
    """The symbols a `kis/symbols` tag value names, or None when it names none."""
    return tuple(s.strip() for s in value.split(",") if s.strip()) or None


def selected_symbols(
    context: dg.AssetExecutionContext, configured: tuple[str, ...] | None
) -> tuple[str, ...] | None:
    """The symbols a run is restricted to: `KIS_SYMBOLS` (pass `settings.symbols`) and the
    run's `kis/symbols` tag together (both apply), or None for the whole universe."""
    tagged = tagged_symbols(context.run.tags.get(SYMBOLS_TAG, ""))
    if tagged is None:
        return configured
    if configured is None:
        return tagged
    allowed = set(configured)
    return tuple(s for s in tagged if s in allowed)


def partition_days(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The dates of the run's partitions (one, or a range in a backfill), ascending."""
    return sorted(dt.date.fromisoformat(key) for key in context.partition_keys)


def progress_dir(context: dg.AssetExecutionContext) -> Path | None:
    """Where this run publishes progress, if the launcher asked for it."""
    raw = context.run.tags.get(PROGRESS_TAG)
    return Path(raw) if raw else None


def env_number(name: str, default: float, *, minimum: float) -> float:
    """A tuning knob from the environment, read when the code location loads."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value >= minimum:
        raise ValueError(
            f"{name}={raw!r} is not a number >= {minimum:g}; fix it or unset it for {default:g}"
        )
    return value


BACKFILL_TAG = "dagster/backfill"
"""Run tag Dagster sets on the runs of a backfill it runs (`kis-pipeline backfill --submit`)."""
