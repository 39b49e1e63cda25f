"""Weekly refreshes (Asia/Seoul), Saturday mornings when no session competes for the budget.

- `fundamentals_schedule`: 09:00, the three statement assets (as_of = that Saturday);
- `dividends_schedule`: 10:00, this year's record dates, and last year's through April: the
  AGMs that fix year-end pay dates run to March 31, and the Saturday after the last of them
  may be in April.
"""

from __future__ import annotations

import dagster as dg

from kis_pipeline.common.clock import KST_NAME
from kis_pipeline.defs.fundamentals.dividends import dividends, refreshed_years
from kis_pipeline.defs.fundamentals.statements import STATEMENTS
from kis_pipeline.lib.schedules import scheduled_day, years_schedule

fundamentals_job = dg.define_asset_job(
    "fundamentals_job",
    selection=dg.AssetSelection.assets(*STATEMENTS),
    description="Balance sheets, income statements and ratios of the listed universe.",
)

dividends_job = dg.define_asset_job(
    "dividends_job",
    selection=dg.AssetSelection.assets(dividends),
    description="One record year of the KSD dividend schedule.",
)


@dg.schedule(
    job=fundamentals_job,
    cron_schedule="0 9 * * 6",
    execution_timezone=KST_NAME,
    description="Saturday mornings: refresh the financial statements and ratios.",
)
def fundamentals_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"fundamentals-{scheduled_day(context)}")


dividends_schedule = years_schedule(
    "dividends_schedule",
    dividends_job,
    cron="0 10 * * 6",
    years=refreshed_years,
    run_key_prefix="dividends-",
    description="Saturday mornings: refresh this year's dividend schedule.",
)
