"""`symbols_schedule`: 08:30 KST Monday to Friday, that day's partition.

KIS regenerates the master files early each morning, so before the open they already list the
day's universe, and every later asset of the day finds its snapshot.
"""

from __future__ import annotations

from kis_pipeline.defs.universe.symbols import symbols
from kis_pipeline.lib.schedules import asset_day_schedule

symbols_job, symbols_schedule = asset_day_schedule(
    symbols,
    cron="30 8 * * 1-5",
    job_description="The day's master-file snapshot of the listed universe.",
    description="Before the open on weekdays: the day's universe.",
)
