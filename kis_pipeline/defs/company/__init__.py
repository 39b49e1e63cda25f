"""The company domain: stock basic info (a point-in-time universe with delisting dates) and
analyst coverage, each a snapshot of what KIS shows today, built from its declaration."""

from __future__ import annotations

from kis_pipeline.defs.company.assets import BUILT
from kis_pipeline.lib.domain import domain_definitions

defs = domain_definitions(
    "company",
    assets=[built.asset for built in BUILT.values()],
    checks=[built.freshness for built in BUILT.values()],
    jobs=[built.job for built in BUILT.values()],
    schedules=[built.schedule for built in BUILT.values()],
    freshness_cron="0 12 * * 6",
    freshness_when="Saturdays after the weekly refreshes",
)
