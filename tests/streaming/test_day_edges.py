"""Which day a tick and a stream session land in around midnight in Seoul (15:00 UTC) and
around 09:00 KST (midnight UTC), and when the collector runs over a year end."""

from __future__ import annotations

import datetime as dt

from kis_pipeline.common.clock import KST
from kis_pipeline.streaming.market_hours import TradingCalendar
from kis_pipeline.streaming.promote import promote_segment
from kis_pipeline.streaming.spool import Spool
from kis_pipeline.warehouse import Warehouse
from tests.streaming.helpers import SegmentBuilder, frame, orderbook, trade


def ns_at(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1e9)


def test_a_frame_without_a_date_lands_in_the_seoul_day_it_arrived(
    spool: Spool, warehouse: Warehouse
) -> None:
    # Order-book frames carry a time only. Received at 00:00:01 KST (15:00 UTC of the day
    # before) and at 08:59 KST (23:59 UTC of the day before), each is that Seoul day's.
    for segment_id, moment in (
        ("seg-midnight", dt.datetime(2027, 1, 1, 0, 0, 0, tzinfo=KST)),
        ("seg-morning", dt.datetime(2027, 1, 4, 8, 58, 59, tzinfo=KST)),
    ):
        seg = SegmentBuilder(spool, segment_id, ns=ns_at(moment))
        seg.add(frame("H0STASP0", orderbook(hour="085859")))
        seg.write()
        promote_segment(warehouse, spool, segment_id)
    assert warehouse.partitions("orderbook_ticks") == ["2027-01-01", "2027-01-04"]
    book = warehouse.read("orderbook_ticks", ["2027-01-04"])
    assert book["ts"].to_list() == [dt.datetime(2027, 1, 4, 8, 58, 59, tzinfo=KST)]


def test_a_trade_keeps_its_own_session_date_whenever_it_arrives(
    spool: Spool, warehouse: Warehouse
) -> None:
    # The simulator plays the next session at night: a trade of 2027-01-04 received at
    # 23:59 KST on Dec 30, and an order book in the same segment, both belong to Jan 4.
    seg = SegmentBuilder(
        spool, "seg-night", ns=ns_at(dt.datetime(2026, 12, 30, 23, 59, 59, tzinfo=KST))
    )
    seg.add(frame("H0STCNT0", trade(hour="090001", day="20270104")))
    seg.add(frame("H0STASP0", orderbook(hour="090002")))
    seg.write()
    promote_segment(warehouse, spool, "seg-night")
    assert warehouse.partitions("trade_ticks") == ["2027-01-04"]
    assert warehouse.partitions("orderbook_ticks") == ["2027-01-04"]


def test_a_session_over_midnight_is_one_row_of_the_day_it_started(
    spool: Spool, warehouse: Warehouse
) -> None:
    started = ns_at(dt.datetime(2026, 12, 31, 23, 59, 58, tzinfo=KST))
    first = SegmentBuilder(spool, "seg-1", ns=started)
    first.control({"type": "session_start", "session_id": "ses-n", "started_ns": started})
    first.add(frame("H0STCNT0", trade(day="20270104")))
    first.write()
    after = ns_at(dt.datetime(2027, 1, 1, 0, 0, 5, tzinfo=KST))
    second = SegmentBuilder(
        spool, "seg-2", session={"session_id": "ses-n", "started_ns": started}, ns=after
    )
    second.add(frame("H0STCNT0", trade(day="20270104")))
    second.control({"type": "session_end", "session_id": "ses-n", "ended_ns": second.ns})
    second.write()
    promote_segment(warehouse, spool, "seg-2")  # the later segment first
    promote_segment(warehouse, spool, "seg-1")
    assert warehouse.partitions("stream_sessions") == ["2026-12-31"]
    row = warehouse.read("stream_sessions").row(0, named=True)
    assert row["frames"] == 2 and row["ended_at"].date() == dt.date(2027, 1, 1)


def test_the_collector_window_over_the_year_end() -> None:
    calendar = TradingCalendar()
    # Dec 31 2026 (the KRX year-end closing day) has no window; the next opens on Jan 4.
    closing = dt.datetime(2026, 12, 31, 10, 0, tzinfo=KST)
    assert calendar.session_end(closing) is None
    assert calendar.next_start(closing) == dt.datetime(2027, 1, 4, 8, 30, tzinfo=KST)
    # 23:40 UTC on Jan 3 is 08:40 KST on Jan 4: inside the window.
    inside = dt.datetime(2027, 1, 3, 23, 40, tzinfo=dt.UTC)
    assert calendar.session_end(inside) == dt.datetime(2027, 1, 4, 15, 45, tzinfo=KST)
