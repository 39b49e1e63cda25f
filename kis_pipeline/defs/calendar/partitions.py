"""The calendar's own partition scheme: calendar years, as the table is stored (TableSpec).

Two years past the current one are open (end_offset=2) because chk-holiday's weeks ahead
cross into next year every December.
"""

from __future__ import annotations

import dagster as dg

from kis_pipeline.lib.partitions import KST

calendar_years = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 1 *",
    start="2015",
    fmt="%Y",
    timezone=KST,
    end_offset=2,
)
