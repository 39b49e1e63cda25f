"""`capital_reductions`: the KSD capital-reduction schedule (ksdinfo/cap-dcrs), one partition
per record-date year, all reductions in 31-day windows (12 calls a year). Saturdays 08:15,
this year (and last year in January, whose last record dates settle then). Real only: in
`paper` it is skipped with its reason. `corporate_actions` reads it for the reductions' kept
ratios and relisting days.
"""

from __future__ import annotations

from kis_pipeline.defs.corporate.ksd_schedule import ksd_year_defs
from kis_pipeline.kis.endpoints.capital_reductions import CAPITAL_REDUCTIONS

capital_reductions, capital_reductions_job, capital_reductions_schedule = ksd_year_defs(
    CAPITAL_REDUCTIONS,
    title="KSD capital-reduction schedule",
    noun="capital reduction",
    cron="15 8 * * 6",
)
