"""Crash recovery: what a killed collector left open is sealed, and its session is ended."""

from __future__ import annotations

from kis_pipeline.streaming.locks import FileLock
from kis_pipeline.streaming.recovery import LOST_REASON, recover, recover_if_idle
from kis_pipeline.streaming.replay import replay
from kis_pipeline.streaming.spool import RAW, Spool, encode_record, read_segment
from tests.streaming.helpers import SegmentBuilder, frame, trade

SESSION = {"session_id": "ses-1", "started_ns": 1_000, "subscriptions": 2}


def _open(spool: Spool, segment_id: str, **kwargs: object) -> SegmentBuilder:
    return SegmentBuilder(spool, segment_id, **kwargs)  # type: ignore[arg-type]


def test_a_torn_open_segment_is_trimmed_sealed_and_its_session_ended(spool: Spool) -> None:
    folder = spool.open_dir("testkey")
    seg = _open(spool, "seg-1", session=SESSION)
    for i in range(5):
        seg.add(frame("H0STCNT0", trade(acml=i)))
    path = seg.write(folder)
    last_ns = seg.ns
    torn = encode_record(RAW, 99, last_ns + 5, b"0|H0STCNT0|001|" + b"y" * 200)
    with open(path, "ab") as handle:
        handle.write(torn[:57])  # killed in the middle of a write
    result = recover(spool, "testkey")
    assert result.sealed == ["seg-1"] and result.trimmed_bytes == 57
    assert result.sessions_ended == ["ses-1"]
    assert not list(folder.iterdir())
    records = read_segment(spool.sealed_dir / "seg-1.seg")  # strict: parses to its end
    state = replay(records)
    session = state.sessions["ses-1"]
    assert session.frames == 5 and session.reason == LOST_REASON
    assert session.ended_ns == last_ns  # the time of its last frame
    assert state.open_session is None
    assert list(records.controls())[-1][1]["recovered"] is True


def test_with_two_open_segments_only_the_newest_ends_the_session(spool: Spool) -> None:
    folder = spool.open_dir("testkey")
    older = _open(spool, "seg-a", session=SESSION)
    older.add(frame("H0STCNT0", trade()))
    older.write(folder)
    # Created (header only) before seg-a was renamed into sealed/.
    newer = _open(spool, "seg-b", session=SESSION, ns=older.ns + 10)
    newer.write(folder)
    result = recover(spool, "testkey")
    assert result.sealed == ["seg-a", "seg-b"] and result.sessions_ended == ["ses-1"]
    ends = [
        s.ended_ns
        for seg in ("seg-a", "seg-b")
        for s in replay(read_segment(spool.sealed_dir / f"{seg}.seg")).sessions.values()
        if s.ended_ns is not None
    ]
    assert len(ends) == 1


def test_an_open_segment_with_only_its_header_and_no_session_is_deleted(spool: Spool) -> None:
    _open(spool, "seg-empty").write(spool.open_dir("testkey"))
    result = recover(spool, "testkey")
    assert result.deleted == ["seg-empty"] and result.sealed == []
    assert not spool.sealed_ids()


def test_recovery_waits_while_a_collector_holds_the_spool_lock(spool: Spool) -> None:
    seg = _open(spool, "seg-live", session=SESSION)
    seg.add(frame("H0STCNT0", trade()))
    seg.write(spool.open_dir("testkey"))
    lock = FileLock(spool.open_lock("testkey"))
    assert lock.try_acquire()
    try:
        assert recover_if_idle(spool, "testkey") is None
        assert spool.sealed_ids() == []
    finally:
        lock.release()
    result = recover_if_idle(spool, "testkey")
    assert result is not None and result.sealed == ["seg-live"]
