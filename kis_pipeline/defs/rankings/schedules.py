"""`rankings_schedule`: 18:45 KST Monday to Friday, that day's partition.

KIS's rankings describe the latest session until the next one opens, so the evening run after
the close is the one chance to capture them; on a holiday the asset writes an empty partition.
"""

from __future__ import annotations

import dagster as dg

from kis_pipeline.defs.rankings.assets import rankings
from kis_pipeline.lib.schedules import day_schedule

rankings_job = dg.define_asset_job(
    "rankings_job",
    selection=dg.AssetSelection.assets(rankings),
    description="The day's rankings, captured from KIS after the close.",
)

rankings_schedule = day_schedule(
    "rankings_schedule",
    rankings_job,
    cron="45 18 * * 1-5",
    run_key_prefix="rankings-",
    description="After the close on weekdays: capture the session's rankings from KIS.",
)
