"""Jobs and schedules of the price assets.

The nightly KRX run starts at 18:30 KST on weekdays, after the after-hours sessions (20:30
with `KIS_VENUE` NXT or KRX+NXT, after NXT's evening session), for the day's partition: on a
trading day that single partition is the latest session and takes the multi-quote path; on a
weekday holiday it writes an empty partition without calls. Overseas bars are fetched at 07:00
KST (22:00 UTC the day before), after New York's close, for the UTC weekday that just ended.
"""

from __future__ import annotations

import os

import dagster as dg

from kis_pipeline.kis.errors import KisConfigError
from kis_pipeline.kis.settings import parse_venue
from kis_pipeline.lib.partitions import overseas_days, trading_days
from kis_pipeline.lib.schedules import day_schedule

daily_prices_job = dg.define_asset_job(
    "daily_prices_job",
    selection=dg.AssetSelection.assets("daily_prices", "daily_prices_adjusted"),
    partitions_def=trading_days,
    description="Raw and adjusted daily prices of the listed universe.",
)

overseas_daily_prices_job = dg.define_asset_job(
    "overseas_daily_prices_job",
    selection=dg.AssetSelection.assets("overseas_daily_prices"),
    partitions_def=overseas_days,
    description="Daily bars of the configured overseas tickers.",
)


def _nightly_cron() -> str:
    """18:30 after KRX's after-hours sessions; 20:30 for a venue with NXT, whose evening
    session ends at 20:00. A wrong KIS_VENUE fails the run itself, in one line."""
    try:
        venue = parse_venue(os.environ.get("KIS_VENUE"))
    except KisConfigError:
        venue = "KRX"
    return "30 18 * * 1-5" if venue == "KRX" else "30 20 * * 1-5"


daily_prices_schedule = day_schedule(
    "daily_prices_schedule", daily_prices_job, cron=_nightly_cron()
)

overseas_daily_prices_schedule = day_schedule(
    "overseas_daily_prices_schedule",
    overseas_daily_prices_job,
    cron="0 22 * * 1-5",
    timezone="UTC",
)
