"""`symbols_schedule`: 08:30 KST Monday to Friday, that day's partition.

KIS regenerates the master files early each morning, so before the open they already list the
day's universe, and every later asset of the day finds its snapshot.
"""

from __future__ import annotations

import dagster as dg

from kis_pipeline.defs.universe.symbols import symbols
from kis_pipeline.lib.schedules import day_schedule

symbols_job = dg.define_asset_job(
    "symbols_job",
    selection=dg.AssetSelection.assets(symbols),
    description="The day's master-file snapshot of the listed universe.",
)

symbols_schedule = day_schedule(
    "symbols_schedule",
    symbols_job,
    cron="30 8 * * 1-5",
    run_key_prefix="symbols-",
    description="Before the open on weekdays: the day's universe.",
)
