"""The prices domain: `daily_prices`, `daily_prices_adjusted`, `overseas_daily_prices`, their
checks, jobs and schedules."""

from __future__ import annotations

import dagster as dg

from kis_pipeline.defs.prices.assets import daily_prices, daily_prices_adjusted
from kis_pipeline.defs.prices.overseas import overseas_daily_prices
from kis_pipeline.defs.prices.schedules import (
    daily_prices_job,
    daily_prices_schedule,
    overseas_daily_prices_job,
    overseas_daily_prices_schedule,
)

defs = dg.Definitions(
    assets=[daily_prices, daily_prices_adjusted, overseas_daily_prices],
    jobs=[daily_prices_job, overseas_daily_prices_job],
    schedules=[daily_prices_schedule, overseas_daily_prices_schedule],
)
