"""Korea's time zone and the pipeline's clock, which tests and simulations can set."""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

KST_NAME = "Asia/Seoul"
"""The zone's name, for polars and Dagster, which take zones by name."""
KST = ZoneInfo(KST_NAME)
NOW = "KIS_NOW"
"""Environment variable that sets the pipeline's clock (an ISO date-time, KST unless it names
a zone), for tests and simulations of a given hour; unset, the wall clock is used."""


def now_kst() -> dt.datetime:
    """The pipeline's "now" in Asia/Seoul: the wall clock, or `KIS_NOW` when it is set."""
    raw = os.environ.get(NOW, "").strip()
    if not raw:
        return dt.datetime.now(KST)
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(
            f"{NOW}={raw!r} is not a date-time like 2026-12-04T14:00; unset it to use the clock"
        ) from None
    return moment.replace(tzinfo=KST) if moment.tzinfo is None else moment.astimezone(KST)


def today_kst() -> dt.date:
    return now_kst().date()
