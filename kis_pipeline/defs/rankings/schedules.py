"""`rankings_schedule`: 18:45 KST Monday to Friday, that day's partition.

KIS's rankings describe the latest session until the next one opens, so the evening run after
the close is the one chance to capture them; on a holiday the asset writes an empty partition.
"""

from __future__ import annotations

import dagster as dg

from kis_pipeline.defs.calendar.schedules import scheduled_day
from kis_pipeline.defs.partitions import KST
from kis_pipeline.defs.rankings.assets import rankings

rankings_job = dg.define_asset_job(
    "rankings_job",
    selection=dg.AssetSelection.assets(rankings),
    description="The day's rankings, captured from KIS after the close.",
)


@dg.schedule(
    job=rankings_job,
    cron_schedule="45 18 * * 1-5",
    execution_timezone=KST,
    description="After the close on weekdays: capture the session's rankings from KIS.",
)
def rankings_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    day = scheduled_day(context).isoformat()
    return dg.RunRequest(run_key=f"rankings-{day}", partition_key=day)
