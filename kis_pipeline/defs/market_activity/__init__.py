"""The market activity domain: per-symbol daily trends (program trading, credit balance, short
sales, securities lending, volume by side), each built from its declaration."""

from __future__ import annotations

from kis_pipeline.defs.market_activity.assets import BUILT
from kis_pipeline.lib.domain import domain_definitions

defs = domain_definitions(
    "market_activity",
    assets=[built.asset for built in BUILT.values()],
    checks=[built.freshness for built in BUILT.values()],
    jobs=[built.job for built in BUILT.values()],
    schedules=[built.schedule for built in BUILT.values()],
)
