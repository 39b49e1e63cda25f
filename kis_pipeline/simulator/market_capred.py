"""The KSD capital-reduction schedule (자본감소일정) read off the book's capital reductions.

The price book holds the relisting day: the base price is the last close divided by the kept
ratio, the shares shrink by it, as a reverse split. The schedule adds the dates before it as
KRX settles them: trading stops the session before the record date (under T+2 the last
trade that settles by it) and resumes on the relisting day three weeks after the record date;
the board announces the reduction six weeks before the relisting.
"""

from __future__ import annotations

import datetime as dt

from kis_pipeline.common import krx_calendar as cal
from kis_pipeline.simulator.market_prices import PriceBook
from kis_pipeline.simulator.market_types import CapitalReduction
from kis_pipeline.simulator.market_universe import CAPITAL_REDUCTION

RECORD_BEFORE_LISTING = dt.timedelta(days=21)
ANNOUNCED_BEFORE_LISTING = dt.timedelta(days=42)


def capital_reduction_schedule(book: PriceBook) -> list[CapitalReduction]:
    """Every capital reduction of the book, by record date then symbol."""
    out: list[CapitalReduction] = []
    for event in book.splits:
        if event.kind != CAPITAL_REDUCTION:
            continue
        record = event.date - RECORD_BEFORE_LISTING
        record = record if cal.is_trading_day(record) else cal.previous_trading_day(record)
        out.append(
            CapitalReduction(
                symbol=event.symbol,
                record_date=record,
                reduction_type="무상",
                kept_ratio=event.ratio,
                method="단주 현금지급",
                halt_start=cal.previous_trading_day(record),
                halt_end=cal.previous_trading_day(event.date),
                list_date=event.date,
                announced=event.date - ANNOUNCED_BEFORE_LISTING,
            )
        )
    return sorted(out, key=lambda c: (c.record_date, c.symbol))
