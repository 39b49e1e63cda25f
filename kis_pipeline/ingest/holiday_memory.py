"""The one chk-holiday call a day: when it was made, and what it answered.

KIS asks that chk-holiday (CTCA0903R) be called at most once a day (SPEC §11.1, §18.15). The
answer is kept in `KIS_STATE_DIR` beside the token and limiter state of the same app key, so
every process of the machine (two calendar partitions running at once included) shares one
call: the first caller of the day calls under a file lock, the others read its answer.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from kis_pipeline.common.files import file_lock, read_or_none, write_private
from kis_pipeline.ingest.calendar_build import CHK_HOLIDAY_SPAN
from kis_pipeline.kis import schemas
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.calendar import fetch_trading_calendar
from kis_pipeline.kis.settings import KisSettings


@dataclass(frozen=True)
class HolidayAnswer:
    """One day's chk-holiday answer: `called` is False when it came from the memory."""

    called_on: dt.date
    base_date: dt.date
    frame: pl.DataFrame
    called: bool


class HolidayMemory:
    """The last chk-holiday answer of one app key, in `<state_dir>/chk-holiday-<key>.json`."""

    def __init__(self, state_dir: Path, key_id: str) -> None:
        self.path = Path(state_dir) / f"chk-holiday-{key_id}.json"
        self.lock = Path(state_dir) / f"chk-holiday-{key_id}.lock"

    def last(self) -> HolidayAnswer | None:
        raw = read_or_none(self.path)
        if raw is None:
            return None
        data = json.loads(raw)
        frame = pl.DataFrame(
            data["rows"], schema={**schemas.TRADING_CALENDAR, "date": pl.String}
        ).with_columns(pl.col("date").str.to_date())
        return HolidayAnswer(
            dt.date.fromisoformat(data["called_on"]),
            dt.date.fromisoformat(data["base_date"]),
            frame,
            called=False,
        )

    def today(
        self, today: dt.date, base_date: dt.date, call: Callable[[dt.date], pl.DataFrame]
    ) -> HolidayAnswer:
        """Today's answer: the remembered one if today's call was made, else `call(base_date)`."""
        with file_lock(self.lock):
            last = self.last()
            if last is not None and last.called_on == today:
                return last
            frame = call(base_date)
            payload = {
                "called_on": today.isoformat(),
                "base_date": base_date.isoformat(),
                "rows": frame.select(list(schemas.TRADING_CALENDAR))
                .with_columns(pl.col("date").dt.strftime("%Y-%m-%d"))
                .to_dicts(),
            }
            write_private(self.path, json.dumps(payload).encode())
            return HolidayAnswer(today, base_date, frame, called=True)


def holiday_answer(
    settings: KisSettings, client: KisClient, year: int, base: dt.date, today: dt.date
) -> HolidayAnswer | None:
    """Today's chk-holiday answer if it concerns `year` (calling KIS only if nobody has
    today); a year wholly behind the base date needs none."""
    if settings.env == "paper":
        # KIS's mock service has no chk-holiday (SPEC §16): the calendar is the bars only.
        return None
    memory = HolidayMemory(settings.state_dir, settings.key_id)
    if year in (base.year, (base + CHK_HOLIDAY_SPAN).year):
        return memory.today(today, base, lambda day: fetch_trading_calendar(client, day))
    last = memory.last()
    return last if last is not None and last.called_on == today else None
