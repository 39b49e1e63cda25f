"""A simulator that follows the wall clock, for backfills of "the newest session"."""

from __future__ import annotations

import datetime as dt

from kis_pipeline.cli.backfill_plan import DATA_START
from kis_pipeline.common.clock import now_kst
from kis_pipeline.defs.calendar.sessions import DATA_READY
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market import Market
from tests.defs.seed import FAST_RATE

# The simulator follows the wall clock here, as the embedded one does for a user, so that
# "the newest session" means the same thing to the backend and to the pipeline.
CONFIG = SimConfig(seed=5, universe=30, start=DATA_START, rate_limit=FAST_RATE)
MARKET = Market(CONFIG)


def ready_day() -> dt.date:
    """The newest day whose data can be fetched now (today once its figures settle)."""
    now = now_kst()
    day = now.date() if now.time() >= DATA_READY else now.date() - dt.timedelta(days=1)
    while not MARKET.is_trading_day(day):
        day -= dt.timedelta(days=1)
    return day
