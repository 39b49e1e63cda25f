"""The prices domain: `daily_prices`, `daily_prices_adjusted`, `overseas_daily_prices`, their
checks, jobs and schedules."""

from __future__ import annotations

from kis_pipeline.defs.prices.assets import daily_prices, daily_prices_adjusted
from kis_pipeline.defs.prices.freshness import price_freshness_check
from kis_pipeline.defs.prices.overseas import DEFAULT_TICKERS, overseas_daily_prices
from kis_pipeline.defs.prices.schedules import (
    daily_prices_job,
    daily_prices_schedule,
    overseas_daily_prices_job,
    overseas_daily_prices_schedule,
)
from kis_pipeline.lib.domain import domain_definitions

SESSION_FRESH = "The newest session in the table is the latest completed one (warns)."

defs = domain_definitions(
    "prices",
    assets=[daily_prices, daily_prices_adjusted, overseas_daily_prices],
    checks=[
        price_freshness_check("daily_prices", SESSION_FRESH),
        price_freshness_check("daily_prices_adjusted", SESSION_FRESH),
        price_freshness_check(
            "overseas_daily_prices",
            "The newest date is the last weekday every exchange of the table has closed (warns).",
            exchanges=frozenset(t.split(":")[0] for t in DEFAULT_TICKERS),
        ),
    ],
    jobs=[daily_prices_job, overseas_daily_prices_job],
    schedules=[daily_prices_schedule, overseas_daily_prices_schedule],
)
