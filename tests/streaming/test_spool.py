"""The segment file format: complete records parse, a torn or damaged tail is recognised."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kis_pipeline.streaming.spool import (
    CONTROL,
    DECRYPTED,
    MAGIC,
    RAW,
    SpoolCorrupt,
    encode_control,
    encode_record,
    new_id,
    parse_records,
    read_segment,
)


def _segment(count: int = 5) -> tuple[bytes, list[bytes]]:
    payloads = [f"0|H0STCNT0|001|record-{i}".encode() * (i + 1) for i in range(count)]
    body = [encode_control(0, 1, {"type": "segment", "segment_id": "seg-x"})]
    body += [encode_record(RAW, i + 1, 1000 + i, p) for i, p in enumerate(payloads)]
    return MAGIC + b"".join(body), payloads


def test_records_round_trip_with_their_sequence_and_receive_time() -> None:
    data, payloads = _segment()
    data += encode_record(DECRYPTED, 99, 5, b"0|H0STCNT0|001|plain")
    records = parse_records(data)
    assert not records.torn and records.end == len(data)
    assert records.kinds == [CONTROL] + [RAW] * 5 + [DECRYPTED]
    assert records.payloads[1:6] == payloads
    assert records.seqs[1:] == [1, 2, 3, 4, 5, 99]
    assert records.received_ns[1:6] == [1000, 1001, 1002, 1003, 1004]
    assert records.header()["segment_id"] == "seg-x"


def test_every_torn_tail_keeps_exactly_the_complete_records() -> None:
    data, _ = _segment(3)
    last = encode_record(RAW, 9, 9, b"0|H0STASP0|001|" + b"x" * 300)
    for cut in range(1, len(last)):
        records = parse_records(data + last[:cut])
        assert len(records) == 4 and records.torn and records.end == len(data)
    assert len(parse_records(data + last)) == 5


def test_zero_filled_and_corrupted_tails_stop_the_parse() -> None:
    data, _ = _segment(3)
    assert parse_records(data + b"\0" * 4096).end == len(data)
    flipped = bytearray(data)
    flipped[-10] ^= 0xFF  # inside the last record's payload: its CRC no longer matches
    records = parse_records(bytes(flipped))
    assert len(records) == 3 and records.torn


def test_a_sealed_segment_that_does_not_parse_to_its_end_is_an_error(tmp_path: Path) -> None:
    data, _ = _segment(2)
    path = tmp_path / "seg-bad.seg"
    path.write_bytes(data + b"\xa5garbage")
    with pytest.raises(SpoolCorrupt, match="damaged"):
        read_segment(path)
    assert len(read_segment(path, strict=False)) == 3
    path.write_bytes(b"not a segment")
    with pytest.raises(SpoolCorrupt):
        read_segment(path)


def test_ids_are_unique_and_time_ordered() -> None:
    ids = [new_id("seg") for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"seg-\d{8}T\d{6}\.\d{6}-[0-9a-f]{6}", i) for i in ids)
    stamps = [i[:-7] for i in ids]
    assert stamps == sorted(stamps)
