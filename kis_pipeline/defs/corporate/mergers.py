"""`mergers`: the KSD merger and split schedule (ksdinfo/merger-split), one partition per
record-date year, all events in 31-day windows (12 calls a year). Saturdays 08:25, this year
(and last year in January, whose last record dates settle then). Real only: in `paper` it is
skipped with its reason. `corporate_actions` reads it for the mergers' ratios and listing days.
"""

from __future__ import annotations

from kis_pipeline.defs.corporate.ksd_schedule import ksd_year_defs
from kis_pipeline.kis.endpoints.mergers import MERGERS

mergers, mergers_job, mergers_schedule = ksd_year_defs(
    MERGERS, title="KSD merger and split schedule", noun="merger", cron="25 8 * * 6"
)
