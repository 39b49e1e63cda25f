"""`bonus_issues`: the KSD bonus-issue schedule (ksdinfo/bonus-issue), one partition per
record-date year, all issues in 31-day windows (12 calls a year). Saturdays 08:10, this year
(and last year in January, whose last record dates settle then). Real only: in `paper` it is
skipped with its reason. `corporate_actions` reads it for the bonus issues' ratios and ex
dates.
"""

from __future__ import annotations

from kis_pipeline.defs.corporate.ksd_schedule import ksd_year_defs
from kis_pipeline.kis.endpoints.bonus_issues import BONUS_ISSUES

bonus_issues, bonus_issues_job, bonus_issues_schedule = ksd_year_defs(
    BONUS_ISSUES, title="KSD bonus-issue schedule", noun="bonus issue", cron="10 8 * * 6"
)
