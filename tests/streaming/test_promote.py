"""Persistence of one segment: tolerant bulk parsing, typed rows, rejects kept, reruns exact."""

from __future__ import annotations

import datetime as dt

from kis_pipeline.common.clock import KST
from kis_pipeline.kis.ws.crypto import encrypt_payload
from kis_pipeline.streaming.promote import promote_segment
from kis_pipeline.streaming.spool import DECRYPTED, Spool
from kis_pipeline.warehouse import Warehouse, connect
from kis_pipeline.warehouse.maintenance import maintain
from tests.streaming.helpers import (
    SegmentBuilder,
    expected,
    frame,
    orderbook,
    status,
    trade,
)

SESSION = {"session_id": "ses-1", "started_ns": 1, "subscriptions": 4}


def _mixed_segment(spool: Spool, segment_id: str = "seg-1") -> SegmentBuilder:
    seg = SegmentBuilder(spool, segment_id, session=SESSION)
    # A multi-record frame (count 3), one with an unknown trailing column (47 fields), one of
    # the older 45-column layout, and a combined-market (H0UNCNT0) trade.
    seg.add(frame("H0STCNT0", *(trade(acml=100 + i, vol=1) for i in range(3))))
    seg.add(frame("H0STCNT0", trade(acml=200, width=47), trade(acml=201, width=47)))
    seg.add(frame("H0STCNT0", trade(acml=300, width=45)))
    seg.add(frame("H0UNCNT0", trade("000660", acml=5)))
    seg.add(frame("H0STASP0", orderbook(), orderbook("000660", ask1=150000)))
    seg.add(frame("H0STANC0", expected()))
    seg.add(frame("H0STMKO0", status()))  # 11 fields
    seg.add(frame("H0STMKO0", status("000660", width=10)))  # the older 10
    return seg


def test_multi_record_extra_column_and_older_frames_parse_into_typed_rows(
    spool: Spool, warehouse: Warehouse
) -> None:
    _mixed_segment(spool).write()
    result = promote_segment(warehouse, spool, "seg-1")
    assert result.rejects == 0 and result.moved
    assert dict(result.rows) == {
        "trade_ticks": 7,
        "orderbook_ticks": 2,
        "expected_ticks": 1,
        "market_status": 2,
    }
    trades = warehouse.read("trade_ticks").sort("seq", "record")
    assert trades["cum_volume"].to_list() == [100, 101, 102, 200, 201, 300, 5]
    assert result.frames == 8
    assert trades["record"].to_list() == [0, 1, 2, 0, 1, 0, 0]
    assert trades["vi_base_price"].to_list() == [72100] * 5 + [None, 72100]
    assert trades["tr_id"].to_list()[-1] == "H0UNCNT0"
    first = trades.row(0, named=True)
    assert first["price"] == 71900 and first["change"] == -100 and first["side"] == "1"
    assert first["halted"] is False and first["change_rate"] == -0.14
    # ts from the frame's own BSOP_DATE and time.
    assert first["date"] == dt.date(2023, 6, 12)
    assert first["ts"].isoformat() == "2023-06-12T09:33:54+09:00"
    book = warehouse.read("orderbook_ticks").sort("symbol")
    assert book["ask_price_10"].to_list() == [150900, 72900]
    assert book["bid_volume_1"].to_list() == [20, 20]
    # The order book sends only a time: the session date comes from the segment's trades.
    assert book["ts"][0].isoformat() == "2023-06-12T09:33:55+09:00"
    status_rows = warehouse.read("market_status").sort("symbol")
    assert status_rows["exchange_code"].to_list() == [None, None]
    assert status_rows["halt_reason"].to_list() == [None, None]  # "(null)" on the wire
    assert (status_rows["ts"] == status_rows["received_at"]).all()  # no time on the wire
    assert warehouse.read("expected_ticks")["hour_class"].to_list() == ["B"]


def test_unparseable_frames_and_records_are_kept_raw_and_counted(
    spool: Spool, warehouse: Warehouse
) -> None:
    seg = SegmentBuilder(spool, "seg-bad", session=SESSION, session_date="20261123")
    seg.add("garbage that is no frame")
    seg.add(frame("H0ZZZZZ0", "a^b"))  # unknown TR
    seg.add("0|H0STCNT0|002|" + trade()[:60])  # count says 2, not one whole record
    bad_price = trade(acml=2).replace("^71900^", "^7l900^", 1)
    seg.add(frame("H0STCNT0", trade(acml=1), bad_price, trade(acml=3)))
    key, iv = "k" * 32, "i" * 16
    seg.add("1|H0STCNT0|001|" + encrypt_payload(trade(acml=9), key, iv))  # key unknown here
    # An encrypted frame the collector decrypted at receipt is an ordinary frame.
    seg.add(frame("H0STCNT0", trade(acml=10)), kind=DECRYPTED)
    # A padded number is still a number.
    seg.add(frame("H0STCNT0", trade(acml=11).replace("^71900^", "^ 71900 ^", 1)))
    seg.write()
    result = promote_segment(warehouse, spool, "seg-bad")
    assert result.rows["trade_ticks"] == 4 and result.rejects == 5
    rejects = warehouse.read("stream_rejects").sort("seq")
    assert rejects.height == 5
    reasons = rejects["reason"].to_list()
    assert "neither a data frame nor JSON" in reasons[0]
    assert "unknown TR" in reasons[1]
    assert "count field says 2" in reasons[2] and "0 whole record" in reasons[2]
    assert "record 1" in reasons[3] and "STCK_PRPR" in reasons[3]
    assert rejects["record"].to_list() == [None, None, None, 1, None]
    assert "encrypted frame but no key" in reasons[4]
    assert rejects["raw"][0] == "garbage that is no frame"
    assert (rejects["date"] == dt.date(2023, 6, 12)).all()  # the date its trades carry
    trades = warehouse.read("trade_ticks").sort("cum_volume")
    assert trades["cum_volume"].to_list() == [1, 3, 10, 11]
    assert trades["price"].to_list() == [71900] * 4


def test_a_business_date_that_is_not_eight_digits_rejects_its_record_not_the_segment(
    spool: Spool, warehouse: Warehouse
) -> None:
    # polars reads "-20230612" as the year -2023, which no Python date can hold: the whole
    # segment once failed on it.
    seg = SegmentBuilder(spool, "seg-minus", session=SESSION)
    seg.add(frame("H0STCNT0", trade(acml=1), trade(acml=2, day="-20230612"), trade(acml=3)))
    seg.add(frame("H0STCNT0", trade(acml=4, day="+20230612")))
    seg.write()
    result = promote_segment(warehouse, spool, "seg-minus")
    trades = warehouse.read("trade_ticks").sort("cum_volume")
    assert trades["cum_volume"].to_list() == [1, 3]
    assert (trades["date"] == dt.date(2023, 6, 12)).all()
    assert result.rejects == 2
    reasons = warehouse.read("stream_rejects").sort("seq")["reason"].to_list()
    assert all("is not YYYYMMDD" in reason for reason in reasons), reasons


def test_a_rerun_replaces_the_segment_rows_even_after_a_merge(
    spool: Spool, warehouse: Warehouse
) -> None:
    _mixed_segment(spool, "seg-1").write()
    other = SegmentBuilder(spool, "seg-2", session=SESSION)
    other.add(frame("H0STCNT0", trade(acml=900)))
    other.write()
    promote_segment(warehouse, spool, "seg-1")
    promote_segment(warehouse, spool, "seg-2")
    promote_segment(warehouse, spool, "seg-1")  # rerun of a done segment
    assert warehouse.read("trade_ticks").height == 8
    maintain(warehouse)
    promote_segment(warehouse, spool, "seg-2")  # rerun into a merged day
    trades = warehouse.read("trade_ticks")
    assert trades.height == 8
    assert trades.select("segment_id", "seq", "record").is_duplicated().sum() == 0
    with connect(warehouse) as con:
        assert con.execute("select count(*) from trade_ticks").fetchone() == (8,)


def test_stream_sessions_sum_frames_over_segments_and_record_the_end(
    spool: Spool, warehouse: Warehouse
) -> None:
    ns0 = int(dt.datetime(2026, 11, 23, 9, 0, tzinfo=KST).timestamp() * 1e9)
    first = SegmentBuilder(spool, "seg-a", ns=ns0)
    first.control({"type": "session_start", "session_id": "ses-x", "started_ns": ns0})
    first.control({"type": "subscriptions", "session_id": "ses-x", "active": 40})
    for i in range(3):
        first.add(frame("H0STCNT0", trade(acml=i)))
    first.write()
    second = SegmentBuilder(
        spool,
        "seg-b",
        session={"session_id": "ses-x", "started_ns": ns0, "subscriptions": 40},
        ns=first.ns + 10,
    )
    second.add(frame("H0STCNT0", trade(acml=5)))
    second.control(
        {"type": "session_end", "session_id": "ses-x", "ended_ns": second.ns, "reason": "why"}
    )
    second.write()
    promote_segment(warehouse, spool, "seg-b")  # out of order, and then again
    promote_segment(warehouse, spool, "seg-a")
    promote_segment(warehouse, spool, "seg-b")
    rows = warehouse.read("stream_sessions")
    assert rows.height == 1
    row = rows.row(0, named=True)
    assert row["session_id"] == "ses-x" and row["frames"] == 4 and row["subscriptions"] == 40
    assert row["reason"] == "why" and row["date"] == dt.date(2026, 11, 23)
    assert row["started_at"].isoformat().startswith("2026-11-23T09:00:00")
    assert row["ended_at"] > row["started_at"]
