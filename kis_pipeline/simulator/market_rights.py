"""The KSD rights-issue schedule (유상증자일정) read off the book's rights issues.

The price book holds the ex-rights day: the base price is the theoretical ex-rights price, the
cum-rights close divided by (1 + r) / (1 + r × (1 - d)) for r new shares per old sold at a
discount d, and the shares grow by 1 + r (on the ex date, as the book does for bonus issues;
KRX lists them later). The schedule fixes the issue price at that discount to the cum-rights
close, so the KSD's figures give back the base price: (close + price × r) / (1 + r). The dates
around it follow KRX practice: the record date is the session after the ex date (T+2), the
subscription runs two sessions four weeks after the record date, the new shares list two weeks
after it, and the board announces the issue six weeks before the ex date.
"""

from __future__ import annotations

import datetime as dt

from kis_pipeline.common import krx_calendar as cal
from kis_pipeline.simulator.market_bonus import session_on_or_after
from kis_pipeline.simulator.market_prices import PriceBook
from kis_pipeline.simulator.market_types import RightsIssue
from kis_pipeline.simulator.market_universe import RIGHTS_ISSUE

SUBSCRIPTION_AFTER_RECORD = dt.timedelta(days=28)
LISTING_AFTER_SUBSCRIPTION = dt.timedelta(days=14)
ANNOUNCED_BEFORE_EX = dt.timedelta(days=42)


def rights_schedule(book: PriceBook) -> list[RightsIssue]:
    """Every rights issue of the book, by record date then symbol."""
    out: list[RightsIssue] = []
    for event in book.splits:
        if event.kind != RIGHTS_ISSUE:
            continue
        row, column = event.day_index, event.column
        rate = event.share_multiplier - 1
        # ratio = (1 + r) / (1 + r (1 - d)) solved for the discount d.
        discount = 1 - ((1 + rate) / event.ratio - 1) / rate
        cum_close = int(book.close[row - 1, column])
        before = round(float(book.shares_rows(row - 1, row)[0, column]))
        record = cal.next_trading_day(event.date)
        first = session_on_or_after(record + SUBSCRIPTION_AFTER_RECORD)
        last = cal.next_trading_day(first)
        out.append(
            RightsIssue(
                symbol=event.symbol,
                record_date=record,
                ex_date=event.date,
                fix_rate=round(rate * 100, 4),
                discount_rate=round(discount * 100, 4),
                issue_price=round(cum_close * (1 - discount)),
                subscription_start=first,
                subscription_end=last,
                list_date=session_on_or_after(last + LISTING_AFTER_SUBSCRIPTION),
                total_shares=before,
                new_shares=round(before * rate),
                announced=event.date - ANNOUNCED_BEFORE_EX,
            )
        )
    return sorted(out, key=lambda r: (r.record_date, r.symbol))
