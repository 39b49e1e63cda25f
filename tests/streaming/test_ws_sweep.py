"""Corrupted WebSocket records through the real promotion path: every record sent is either a
row with the values it was sent with or a `stream_rejects` row with its raw frame, and the
healthy records of the same frame are stored."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
import pytest

from kis_pipeline.common.clock import KST
from kis_pipeline.kis.ws.columns import COLUMNS
from kis_pipeline.streaming.promote import PromoteResult, promote_segment
from kis_pipeline.streaming.spool import Spool
from kis_pipeline.warehouse import Warehouse
from tests.streaming.helpers import SegmentBuilder, frame, orderbook, trade

DAY = dt.date(2023, 6, 12)  # the session date of the helpers' trades
RECEIVED_NS = int(dt.datetime(2023, 6, 12, 10, 0, tzinfo=KST).timestamp() * 1e9)
OK = "stored"

# Where a stored row's values come from: table column -> field index in the record.
CHECKED = {
    "H0STCNT0": ("trade_ticks", {"price": 2, "volume": 12, "cum_volume": 13}, 1),
    "H0STASP0": (
        "orderbook_ticks",
        {"ask_price_1": 3, "bid_volume_1": 33, "cum_volume": COLUMNS["H0STASP0"].index("ACML_VOL")},
        1,
    ),
}


def put(record: str, index: int, value: str) -> str:
    fields = record.split("^")
    fields[index] = value
    return "^".join(fields)


def t(acml: int, **changes: str) -> str:
    """A trade record with a unique cumulative volume, fields changed by index ("f2"=...)."""
    record = trade(acml=acml, price=71900 + acml, vol=acml % 7 + 1)
    for key, value in changes.items():
        record = put(record, int(key[1:]), value)
    return record


def b(acml: int, **changes: str) -> str:
    """An order-book record with a unique cumulative volume, fields changed by index."""
    record = put(
        orderbook(ask1=72000 + 100 * acml), COLUMNS["H0STASP0"].index("ACML_VOL"), str(acml)
    )
    for key, value in changes.items():
        record = put(record, int(key[1:]), value)
    return record


def cut(record: str, fields: int) -> str:
    return "^".join(record.split("^")[:fields])


def counted(tr_id: str, count: int, *records: str) -> str:
    return f"0|{tr_id}|{count:03d}|" + "^".join(records)


@dataclass(frozen=True)
class Case:
    name: str
    tr_id: str
    text: str
    # Per record sent: OK, or a fragment of the reject reason; one entry with record None
    # for a frame that holds no whole record.
    outcomes: tuple[str, ...]
    records: tuple[str, ...]  # each record's own text, as sent

    @property
    def frame_rejected(self) -> bool:
        return len(self.outcomes) == 1 and self.outcomes[0].startswith("frame:")


def case(name: str, tr_id: str, text: str, records: list[str], *outcomes: str) -> Case:
    return Case(name, tr_id, text, outcomes, tuple(records))


def sent(tr_id: str, records: list[str], count: int | None = None) -> str:
    return frame(tr_id, *records) if count is None else counted(tr_id, count, *records)


def cases() -> list[Case]:
    T, A = "H0STCNT0", "H0STASP0"
    out: list[Case] = []

    def add(name: str, tr_id: str, records: list[str], *outcomes: str, count: int | None = None):
        out.append(case(name, tr_id, sent(tr_id, records, count), records, *outcomes))

    mismatch = "count field says"
    add("trade healthy", T, [t(1)], OK)
    add("trade three records", T, [t(2), t(3), t(4)], OK, OK, OK)
    add("trade count 1, two records", T, [t(5), t(6)], OK, OK, count=1)
    add("trade count 2, three records", T, [t(7), t(8), t(9)], OK, OK, OK, count=2)
    add("trade count 3, two records", T, [t(10), t(11)], OK, OK, count=3)
    add("trade count 1, one and a half", T, [t(12), cut(t(13), 23)], OK, mismatch, count=1)
    add("trade count 2, two and a bit", T, [t(14), t(15), cut(t(16), 10)], OK, OK, mismatch)
    add("trade six fields over", T, [t(17), cut(t(18), 6)], OK, mismatch, count=1)
    add("trade not one whole record", T, [cut(t(19), 30)], "frame:" + mismatch)
    add("trade blank time", T, [t(20, f1="")], "time '' is not HHMMSS")
    add("trade garbage time", T, [t(21, f1="9x3354")], "time '9x3354' is not HHMMSS")
    add("trade impossible time", T, [t(22, f1="256199")], "is not HHMMSS")
    add("trade short time", T, [t(23, f1="0933")], "is not HHMMSS")
    old = t(25, f33="20200101")
    add("trade old date", T, [t(24), old], OK, "business date '20200101' is not the session")
    add("trade next year", T, [t(26, f33="20240612")], "is not the session date 2023-06-12")
    add("trade garbage date", T, [t(27, f33="2023AB12")], "'2023AB12' is not YYYYMMDD")
    add("trade blank date", T, [t(28, f33="")], "business date '' is not YYYYMMDD")
    add("trade impossible date", T, [t(29, f33="20231345")], "is not YYYYMMDD")
    add("trade zero price", T, [t(30, f2="0")], "price 0 is not positive")
    add("trade negative price", T, [t(31, f2="-100")], "price -100 is not positive")
    add("trade negative volume", T, [t(32, f12="-5")], "volume -5 is negative")
    add("trade negative cum volume", T, [t(33, f13="-1")], "cum_volume -1 is negative")
    add("trade letter in price", T, [t(34, f2="7l900")], "not a value of its type: STCK_PRPR")
    add("trade word volume", T, [t(35, f12="abc")], "not a value of its type: CNTG_VOL")
    add("trade blank symbol", T, [t(36, f0="")], "missing: symbol")
    add("trade blank price", T, [t(37, f2="")], "missing: price")
    add("trade bad middle", T, [t(38), t(39, f2="-1"), t(40)], OK, "not positive", OK)
    add("trade bad last time", T, [t(41), t(42), t(43, f1="xx")], OK, OK, "not HHMMSS")
    add("trade padded price", T, [t(44, f2=" 71944 ")], OK)
    add("trade new column", T, [t(45) + "^NEW", t(46) + "^NEW"], OK, OK)
    older = [cut(t(47), 45), cut(t(48), 45)]
    add("trade older layout, count 1", T, older, OK, OK, count=1)
    add("book healthy", A, [b(1)], OK)
    add("book two records", A, [b(2), b(3)], OK, OK)
    add("book count 1, two records", A, [b(4), b(5)], OK, OK, count=1)
    add("book count 2, three records", A, [b(6), b(7), b(8)], OK, OK, OK, count=2)
    add("book count 1, one and a half", A, [b(9), cut(b(10), 30)], OK, mismatch, count=1)
    add("book one field short", A, [cut(b(11), 58)], "frame:" + mismatch)
    add("book blank time", A, [b(12, f1="")], "time '' is not HHMMSS")
    add("book garbage time", A, [b(13, f1="ab:cd:")], "is not HHMMSS")
    add("book negative ask", A, [b(14, f3="-100")], "ask_price_1 -100 is negative")
    add("book no quote is zero", A, [b(15, f3="0", f13="0")], OK)
    add("book word volume", A, [b(16, f33="lots")], "not a value of its type: BIDP_RSQN1")
    add("book bad second", A, [b(17), b(18, f33="-3")], OK, "bid_volume_1 -3 is negative")
    add("book blank symbol", A, [b(19, f0="")], "missing: symbol")
    return out


CASES = cases()


def test_the_sweep_covers_enough_cases() -> None:
    assert len(CASES) >= 30
    assert {c.tr_id for c in CASES} == {"H0STCNT0", "H0STASP0"}


@dataclass(frozen=True)
class Promoted:
    result: PromoteResult
    tables: dict[str, pl.DataFrame]
    rejects: pl.DataFrame
    seqs: list[int]


@pytest.fixture(scope="module")
def promoted(tmp_path_factory: pytest.TempPathFactory) -> Promoted:
    """All cases in one segment, promoted once; its healthy trades fix the session date."""
    import kis_pipeline.streaming.tables  # noqa: F401  (registers the tick tables)

    root = tmp_path_factory.mktemp("sweep") / "warehouse"
    spool = Spool.for_warehouse(root)
    spool.ensure("testkey")
    warehouse = Warehouse(root)
    seg = SegmentBuilder(spool, "seg-sweep", session_date="20230612", ns=RECEIVED_NS)
    seqs = [seg.add(c.text) for c in CASES]
    seg.write()
    result = promote_segment(warehouse, spool, "seg-sweep")
    tables = {name: warehouse.read(name) for name in ("trade_ticks", "orderbook_ticks")}
    return Promoted(result, tables, warehouse.read("stream_rejects"), seqs)


def test_every_record_sent_is_a_row_or_a_reject(promoted: Promoted) -> None:
    sent_records = sum(len(c.outcomes) for c in CASES)
    stored = sum(table.height for table in promoted.tables.values())
    assert stored + promoted.rejects.height == sent_records
    assert promoted.result.records + promoted.result.rejects == sent_records
    assert stored == sum(c.outcomes.count(OK) for c in CASES)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c.name for c in CASES])
def test_every_record_is_stored_as_sent_or_rejected_raw(index: int, promoted: Promoted) -> None:
    c, seq = CASES[index], promoted.seqs[index]
    name, checked, time_field = CHECKED[c.tr_id]
    rows = promoted.tables[name].filter(pl.col("seq") == seq)
    mine = promoted.rejects.filter(pl.col("seq") == seq)
    assert (mine["date"] == DAY).all()
    if c.frame_rejected:
        (reject,) = mine.iter_rows(named=True)
        assert reject["record"] is None and reject["raw"] == c.text
        assert c.outcomes[0].removeprefix("frame:") in reject["reason"]
        assert rows.is_empty()
        return
    assert rows.height + mine.height == len(c.outcomes)
    for record, (outcome, text) in enumerate(zip(c.outcomes, c.records, strict=True)):
        fields = text.split("^")
        if outcome == OK:
            (row,) = rows.filter(pl.col("record") == record).iter_rows(named=True)
            for column, field_index in checked.items():
                assert row[column] == int(fields[field_index]), (column, text)
            hour = dt.datetime.strptime(fields[time_field], "%H%M%S").time()
            assert row["ts"] == dt.datetime.combine(DAY, hour, KST)
            assert row["date"] == DAY and row["tr_id"] == c.tr_id
        else:
            (reject,) = mine.filter(pl.col("record") == record).iter_rows(named=True)
            assert outcome in reject["reason"], reject["reason"]
            assert reject["raw"] == c.text and text in reject["raw"]
            assert reject["tr_id"] == c.tr_id
