"""Questions the pipeline asks of data already in the warehouse: which days traded, which
symbols were listed. Both answer from the warehouse only, never from the API.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from kis_pipeline.warehouse.store import Warehouse


class MissingReference(LookupError):
    """A table the question needs has not been materialized yet; the message says which."""


def calendar_frame(warehouse: Warehouse, start: dt.date, end: dt.date) -> pl.DataFrame:
    years = [str(y) for y in range(start.year, end.year + 1)]
    frame = warehouse.read("trading_calendar", years)
    return frame.filter(pl.col("date").is_between(start, end)).sort("date")


def trading_days(warehouse: Warehouse, start: dt.date, end: dt.date) -> list[dt.date]:
    """Trading days in [start, end] per the `trading_calendar` table.

    Raises `MissingReference` if the calendar does not cover the whole range.
    """
    frame = calendar_frame(warehouse, start, end)
    expected = (end - start).days + 1
    if frame.height < expected:
        known = frame["date"]
        raise MissingReference(
            f"trading_calendar covers {frame.height} of {expected} days in {start}..{end}"
            + (f" ({known.min()}..{known.max()})" if frame.height else "")
            + "; materialize trading_calendar for that range first"
        )
    return frame.filter(pl.col("is_trading_day"))["date"].to_list()


def is_trading_day(warehouse: Warehouse, day: dt.date) -> bool:
    return bool(trading_days(warehouse, day, day))


def universe(warehouse: Warehouse, day: dt.date, *, only: Sequence[str] | None = None) -> list[str]:
    """Symbols listed on `day` (the newest `symbols` snapshot on or before it), optionally
    restricted to `only` (KIS_SYMBOLS or --symbols); unknown names in `only` are an error.
    """
    dates = [d for d in warehouse.partitions("symbols") if d <= day.isoformat()]
    if not dates:
        raise MissingReference(
            f"no symbols snapshot on or before {day}; materialize the symbols asset first"
        )
    listed = warehouse.read("symbols", [dates[-1]])["symbol"].sort().to_list()
    if only is None:
        return listed
    unknown = sorted(set(only) - set(listed))
    if unknown:
        raise MissingReference(
            f"unknown symbols {', '.join(unknown)} (not in the {dates[-1]} universe of "
            f"{len(listed)} listed symbols)"
        )
    return [s for s in listed if s in set(only)]
