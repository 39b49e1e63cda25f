"""The market activity domain: per-symbol daily trends (program trading, credit balance, short
sales, securities lending, volume by side), each built from its declaration, the KOSPI200
futures and options chain, and the KRX-listed bonds' bars."""

from __future__ import annotations

from kis_pipeline.defs.market_activity.assets import BUILT
from kis_pipeline.defs.market_activity.bond_prices import (
    bond_prices,
    bond_prices_job,
    bond_prices_schedule,
)
from kis_pipeline.defs.market_activity.futures_options import (
    futures_options_daily,
    futures_options_job,
    futures_options_schedule,
)
from kis_pipeline.lib.domain import domain_definitions

defs = domain_definitions(
    "market_activity",
    assets=[*(built.asset for built in BUILT.values()), futures_options_daily, bond_prices],
    checks=[built.freshness for built in BUILT.values()],
    jobs=[*(built.job for built in BUILT.values()), futures_options_job, bond_prices_job],
    schedules=[
        *(built.schedule for built in BUILT.values()),
        futures_options_schedule,
        bond_prices_schedule,
    ],
)
