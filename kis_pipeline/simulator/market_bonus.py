"""The KSD bonus-issue schedule (무상증자일정) read off the book's bonus-issue events.

The price book holds the ex-rights day (the base price divided by 1 + rate / 100, the shares
grown by it); the schedule adds the dates around it as KRX settles them: the record date is
the session after the ex date (an ex-rights day is the session before the record date under
T+2), the new shares list about three weeks after the record date, fractional shares are paid
then too, and the board announces the issue four weeks before the ex date.
"""

from __future__ import annotations

import datetime as dt

from kis_pipeline.common import krx_calendar as cal
from kis_pipeline.simulator.market_prices import PriceBook
from kis_pipeline.simulator.market_types import BonusIssue
from kis_pipeline.simulator.market_universe import BONUS_ISSUE

LISTING_AFTER_RECORD = dt.timedelta(days=21)
ANNOUNCED_BEFORE_EX = dt.timedelta(days=28)


def session_on_or_after(day: dt.date) -> dt.date:
    return day if cal.is_trading_day(day) else cal.next_trading_day(day)


def bonus_schedule(book: PriceBook) -> list[BonusIssue]:
    """Every bonus issue of the book, by record date then symbol."""
    out: list[BonusIssue] = []
    for event in book.splits:
        if event.kind != BONUS_ISSUE:
            continue
        row, column = event.day_index, event.column
        before = round(float(book.shares_rows(row - 1, row)[0, column]))
        rate = round((event.ratio - 1) * 100, 4)
        record = cal.next_trading_day(event.date)
        listed = session_on_or_after(record + LISTING_AFTER_RECORD)
        out.append(
            BonusIssue(
                symbol=event.symbol,
                record_date=record,
                ex_date=event.date,
                fix_rate=rate,
                odd_lot_price=int(book.base_rows(row, row + 1)[0, column]),
                odd_lot_pay_date=listed,
                list_date=listed,
                total_shares=before,
                new_shares=round(before * rate / 100),
                announced=event.date - ANNOUNCED_BEFORE_EX,
            )
        )
    return sorted(out, key=lambda b: (b.record_date, b.symbol))
