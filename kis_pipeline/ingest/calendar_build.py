"""Building one year of `trading_calendar` from the bars (the past) and chk-holiday (ahead).

Rules, per day of the year:
- a day inside the span the bars cover is a past day: it was a session if it has a KOSPI
  bar (source "index"); a weekend never was. The span reaches over the weekend days on
  either side of it (within the year): a year whose last session is a Friday still covers
  its last Saturday and Sunday, so a range that crosses a year end has no hole;
- `is_business_day`, `is_settlement_day` and `is_securities_business_day` of a past day come
  from chk-holiday when it ever answered for that day (its answer is kept in the table), else
  from the row already written for the day, else they are derived: a session is a business
  and settlement day; a closed weekday is a business day (banks open) only when it is Labour
  Day (5/1) or the KRX year-end closing day (the year's last weekday), the two days the
  exchange closes while banks work; it is never a settlement day; `is_securities_business_day`
  is unknown (null) for a closed day, since the bars say nothing about it;
- a day chk-holiday answered that the bars do not cover yet is taken as chk-holiday says
  (source "chk-holiday");
- where the bars contradict a chk-holiday answer about whether the market was open, the bars
  win (they are what happened) and the day is reported as a conflict, which fails the
  blocking check `trading_calendar_agrees_with_chk_holiday`;
- rows already written that nothing above covers are kept, so a rerun never loses days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from kis_pipeline.ingest.days import days_between
from kis_pipeline.warehouse import TABLES

SCHEMA = TABLES["trading_calendar"].schema
INDEX = "index"
CHK_HOLIDAY = "chk-holiday"
FLAGS = ("is_business_day", "is_settlement_day", "is_securities_business_day")
# chk-holiday answers about this many calendar days from its base date (SPEC §11.1).
CHK_HOLIDAY_SPAN = dt.timedelta(days=23)


@dataclass(frozen=True)
class CalendarYear:
    frame: pl.DataFrame
    conflicts: list[dict[str, object]]


def chk_holiday_base(newest_session: dt.date | None, today: dt.date) -> dt.date:
    """The day after KIS's newest session, never after today: the bars settle every day
    before it, chk-holiday every day from it, so past and ahead meet without a hole.

    `newest_session` must be KIS's newest (what the chart answers now), not merely the newest
    the warehouse holds, or the days between would belong to neither source.
    """
    if newest_session is None:
        return today
    return min(today, newest_session + dt.timedelta(days=1))


def is_year_end_closing(day: dt.date) -> bool:
    """The year's last weekday: KRX's year-end closing day (a business day, no session)."""
    following = days_between(day + dt.timedelta(days=1), dt.date(day.year, 12, 31))
    return day.weekday() < 5 and all(d.weekday() >= 5 for d in following)


def weekend_margins(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """[start, end] widened over the weekend days right before and after it, within the year.

    A weekend is closed whatever the bars say, so the days between a year's last session and
    its 31st (or before its first session) need no evidence.
    """
    one = dt.timedelta(days=1)
    while (start - one).weekday() >= 5 and (start - one).year == start.year:
        start -= one
    while (end + one).weekday() >= 5 and (end + one).year == end.year:
        end += one
    return start, end


def derived_flags(day: dt.date, is_open: bool) -> dict[str, bool | None]:
    if is_open:
        return dict.fromkeys(FLAGS, True)
    business = day.weekday() < 5 and ((day.month, day.day) == (5, 1) or is_year_end_closing(day))
    return {
        "is_business_day": business,
        "is_settlement_day": False,
        "is_securities_business_day": None,
    }


def build_year(
    year: int,
    index_days: dict[dt.date, bool],
    chk_holiday: pl.DataFrame,
    previous: pl.DataFrame,
) -> CalendarYear:
    """One year of the calendar.

    `index_days`: weekdays of the year with a materialized `index_daily` partition -> whether
    it holds a KOSPI bar. `chk_holiday`: chk-holiday rows (newest answer first wins) in the
    endpoint schema. `previous`: the partition as written before, in the table schema.
    """
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    past: dict[dt.date, bool] = {}
    if index_days:
        for day in days_between(*weekend_margins(min(index_days), max(index_days))):
            if day.weekday() >= 5:
                past[day] = False
            elif day in index_days:
                past[day] = index_days[day]

    chk: dict[dt.date, dict[str, object]] = {}
    for row in chk_holiday.filter(pl.col("date").is_between(first, last)).iter_rows(named=True):
        chk.setdefault(row["date"], row)
    before: dict[dt.date, dict[str, object]] = {
        row["date"]: row for row in previous.iter_rows(named=True)
    }
    for day, row in before.items():
        if row["source"] == CHK_HOLIDAY:
            chk.setdefault(day, row)

    rows: list[dict[str, object]] = []
    conflicts: list[dict[str, object]] = []
    for day in sorted(set(past) | set(chk) | set(before)):
        if day in past:
            is_open = past[day]
            said = chk.get(day)
            kept = before.get(day)
            if said is not None and bool(said["is_trading_day"]) != is_open:
                conflicts.append(
                    {"date": day.isoformat(), "chk_holiday_open": not is_open, "bars_open": is_open}
                )
            if said is not None and bool(said["is_trading_day"]) == is_open:
                flags = {name: said[name] for name in FLAGS}
            elif kept is not None and bool(kept["is_trading_day"]) == is_open:
                flags = {name: kept[name] for name in FLAGS}
            else:
                flags = derived_flags(day, is_open)
            rows.append(
                {
                    "date": day,
                    **flags,
                    "is_trading_day": is_open,
                    "is_market_open": is_open,
                    "source": INDEX,
                }
            )
        elif day in chk:
            rows.append(
                {**{k: chk[day][k] for k in SCHEMA if k != "source"}, "source": CHK_HOLIDAY}
            )
        else:
            rows.append(before[day])
    frame = pl.DataFrame(rows, schema=SCHEMA) if rows else pl.DataFrame(schema=SCHEMA)
    return CalendarYear(frame.select(list(SCHEMA)).sort("date"), conflicts)
