"""What the KSD schedules with no paging share (ksdinfo/bonus-issue, cap-dcrs, paidin-capin,
merger-split): the request (`CTS` blank, `F_DT`..`T_DT` record dates, `SHT_CD` blank for every
code, a code outside the universe MCA05918) and the rows of the market's events in it, by
record date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from kis_pipeline.simulator.rest_common import Params, Reply, ok, unknown_symbol
from kis_pipeline.simulator.rest_market import MarketView


class ScheduledEvent(Protocol):
    @property
    def symbol(self) -> str: ...

    @property
    def record_date(self) -> dt.date: ...


E = TypeVar("E", bound=ScheduledEvent)


def record_date_reply(
    view: MarketView,
    params: Params,
    name: str,
    events: Callable[[], Sequence[E]],
    row: Callable[[E], dict[str, str]],
    day: Callable[[E], dt.date] = lambda e: e.record_date,
) -> Reply:
    """The `output1` rows of `events` (memoised as `name` for the day) the request selects,
    by the date `day` of each (the record date unless the schedule is asked otherwise)."""
    params.require("CTS", 17)
    start = params.date("F_DT", max_len=8)
    end = params.date("T_DT", max_len=8)
    symbol = params.require("SHT_CD", 9)
    if symbol and view.listing(symbol) is None:
        raise unknown_symbol()
    scheduled = view.memo((name, view.market.today()), events)
    rows = [
        row(e) for e in scheduled if start <= day(e) <= end and (not symbol or e.symbol == symbol)
    ]
    return Reply(ok(output1=rows))
