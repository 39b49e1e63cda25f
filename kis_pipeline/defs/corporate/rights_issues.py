"""`rights_issues`: the KSD rights-issue schedule (ksdinfo/paidin-capin), one partition per
record-date year, all issues in 31-day windows (12 calls a year). Saturdays 08:20, this year
(and last year in January, whose last record dates settle then). Real only: in `paper` it is
skipped with its reason. `corporate_actions` reads it for the issues' rates, prices and ex
dates.
"""

from __future__ import annotations

from kis_pipeline.defs.corporate.ksd_schedule import ksd_year_defs
from kis_pipeline.kis.endpoints.rights_issues import RIGHTS_ISSUES

rights_issues, rights_issues_job, rights_issues_schedule = ksd_year_defs(
    RIGHTS_ISSUES, title="KSD rights-issue schedule", noun="rights issue", cron="20 8 * * 6"
)
