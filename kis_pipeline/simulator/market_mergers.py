"""The KSD merger schedule (합병_분할일정) read off the book's mergers.

The price book holds the listing day of the new shares: the share count grows by the absorbed
company's shares times the merger ratio, the price basis and the par value stay (a listed
company absorbing an unlisted one is not re-priced, so the chart flags nothing). The schedule
adds the dates before it: the absorbed company's record date four weeks before the listing,
fractional shares paid on the listing day, the board's announcement three months before.
"""

from __future__ import annotations

import datetime as dt

from kis_pipeline.common import krx_calendar as cal
from kis_pipeline.simulator.market_prices import PriceBook
from kis_pipeline.simulator.market_types import Merger
from kis_pipeline.simulator.market_universe import MERGER, merger_terms

RECORD_BEFORE_LISTING = dt.timedelta(days=28)
ANNOUNCED_BEFORE_LISTING = dt.timedelta(days=91)
MERGER_TYPE = "흡수합병"


def merger_schedule(book: PriceBook) -> list[Merger]:
    """Every merger of the book, by record date then symbol."""
    out: list[Merger] = []
    for event in book.splits:
        if event.kind != MERGER:
            continue
        row, column = event.day_index, event.column
        ratio, absorbed = merger_terms(column)
        spec = book.specs[column]
        before = round(float(book.shares_rows(row - 1, row)[0, column]))
        record = event.date - RECORD_BEFORE_LISTING
        record = record if cal.is_trading_day(record) else cal.previous_trading_day(record)
        out.append(
            Merger(
                symbol=event.symbol,
                company=spec.name,
                record_date=record,
                absorbed=f"X{spec.symbol[:5]}",
                absorbed_name=f"{spec.name[:2]}정밀",
                merger_type=MERGER_TYPE,
                ratio=ratio,
                list_date=event.date,
                odd_lot_pay_date=event.date,
                total_shares=before,
                new_shares=round(absorbed * ratio),
                announced=event.date - ANNOUNCED_BEFORE_LISTING,
            )
        )
    return sorted(out, key=lambda m: (m.record_date, m.symbol))
