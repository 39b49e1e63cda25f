"""The spool writer thread: batching, sealing, bounded memory, segment headers."""

from __future__ import annotations

import threading
import time

from kis_pipeline.streaming.replay import replay
from kis_pipeline.streaming.spool import CONTROL, RAW, Spool, read_segment
from kis_pipeline.streaming.writer import SealedSegment, SpoolWriter, WriterConfig
from tests.streaming.helpers import frame, trade, wait_for


def _writer(spool: Spool, **config: float) -> tuple[SpoolWriter, list[SealedSegment]]:
    sealed: list[SealedSegment] = []
    writer = SpoolWriter(
        spool,
        "testkey",
        collector_id="col-test",
        config=WriterConfig(**config),  # type: ignore[arg-type]
        on_seal=sealed.append,
    )
    return writer, sealed


def test_frames_land_in_order_in_sealed_segments_with_headers_and_trailers(
    spool: Spool,
) -> None:
    writer, sealed = _writer(spool, seal_interval_s=0.05)
    writer.start()
    writer.put_control(1, 10, {"type": "session_start", "session_id": "ses-a", "started_ns": 10})
    texts = [frame("H0STCNT0", trade(acml=i, day="20261123")).encode() for i in range(300)]
    for i, text in enumerate(texts):
        writer.put(RAW, i + 2, 1000 + i, text)
        if i % 50 == 0:
            time.sleep(0.03)
    writer.put_control(999, 5000, {"type": "session_end", "session_id": "ses-a", "ended_ns": 5000})
    writer.stop()
    assert writer.error is None
    assert len(sealed) >= 2 and writer.stats.frames == 300 and writer.stats.records == 300
    assert not list(spool.open_dir("testkey").iterdir())  # nothing left open
    seen: list[bytes] = []
    headers = []
    for info in sealed:
        records = read_segment(info.path)
        headers.append(records.header())
        body = [p for k, p in zip(records.kinds, records.payloads, strict=True) if k != CONTROL]
        assert len(body) == info.frames
        seen += body
        trailer = list(records.controls())[-1][1]
        assert trailer["type"] == "seal" and trailer["frames"] == info.frames
    assert seen == texts
    # Every header after the first knows the open session and the session date seen so far.
    assert headers[0]["session"] is None
    assert all(h["session"]["session_id"] == "ses-a" for h in headers[1:])
    assert all(h["session_date"] == "20261123" for h in headers[1:])
    assert sum(replay(read_segment(s.path)).sessions["ses-a"].frames for s in sealed) == 300


def test_a_segment_is_sealed_when_it_reaches_its_frame_limit(spool: Spool) -> None:
    writer, sealed = _writer(spool, seal_interval_s=60.0, max_segment_frames=100)
    writer.start()
    for i in range(250):
        writer.put(RAW, i, i, b"0|H0STCNT0|001|x")
    wait_for(lambda: len(sealed) >= 2)
    writer.stop()
    assert [s.frames for s in sealed] == [100, 100, 50]


def test_the_queue_is_bounded_and_the_producer_is_told_to_wait(spool: Spool) -> None:
    writer, _ = _writer(spool, queue_max_bytes=10_000, seal_interval_s=60.0)
    payload = b"0|H0STCNT0|001|" + b"x" * 1000
    # Not started: nothing drains, so the bound is reached after ~10 frames.
    results = [writer.put(RAW, i, i, payload) for i in range(12)]
    assert results[:9] == [True] * 9 and results[-1] is False
    assert writer.wait_for_room(0.05) is False
    freed = threading.Event()

    def wait() -> None:
        writer.wait_for_room(5.0)
        freed.set()

    waiter = threading.Thread(target=wait)
    waiter.start()
    writer.start()  # the writer drains the queue, which frees the producer
    waiter.join(5.0)
    assert freed.is_set()
    writer.stop()
    assert writer.stats.frames == 12


def test_an_idle_stop_leaves_no_empty_segment(spool: Spool) -> None:
    writer, sealed = _writer(spool, seal_interval_s=0.05, heartbeat_interval_s=0.01)
    writer.start()
    time.sleep(0.1)
    writer.stop()
    assert sealed == [] and not list(spool.open_dir("testkey").iterdir())
    assert spool.heartbeat_path("testkey").is_file()
