"""`rankings_schedule`: 18:45 KST Monday to Friday, that day's partition.

KIS's rankings describe the latest session until the next one opens, so the evening run after
the close is the one chance to capture them; on a holiday the asset writes an empty partition.
"""

from __future__ import annotations

from kis_pipeline.defs.rankings.assets import rankings
from kis_pipeline.lib.schedules import asset_day_schedule

rankings_job, rankings_schedule = asset_day_schedule(
    rankings,
    cron="45 18 * * 1-5",
    job_description="The day's rankings, captured from KIS after the close.",
    description="After the close on weekdays: capture the session's rankings from KIS.",
)
