"""Persistence benchmark: ticks per second parsed and written from sealed spool segments.

Builds sealed segments offline from the simulator's own tick tapes (20 symbols, trades and
order book, multi-record frames like the WebSocket app sends at high rates), then persists them
with `promote_segment` exactly as a Dagster run does (bulk parse with polars, typed frames,
the tick tables in one lake transaction per segment) and reports records per second,
overall and for the parse step alone, by the clock and per CPU second of this process (all its
threads): on a shared machine the CPU figure moves much less with the load than the clock.

    .venv/bin/python bench/stream_persist.py [--segments 8] [--records 200000] [--batched]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path

import kis_pipeline.streaming.tables  # noqa: F401  (registers the tick tables)
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.ticks import TickGenerator, build_frames
from kis_pipeline.streaming.promote import (
    PromoteResult,
    parse_records_to_tables,
    promote_batch,
    promote_segment,
)
from kis_pipeline.streaming.spool import (
    MAGIC,
    RAW,
    Spool,
    encode_control,
    encode_record,
    read_segment,
)
from kis_pipeline.warehouse import Warehouse

RESULTS = Path(__file__).parent / "results"


def build_segments(spool: Spool, count: int, records: int, batch_s: float) -> list[str]:
    """`count` sealed segments of about `records` records each (trades + order book)."""
    market = Market(SimConfig(universe=50, tick_rate=float(records)))
    generator = TickGenerator(market, tick_rate=records / 1.0)
    for listing in market.listings[:20]:
        generator.add_feed("H0STCNT0", listing.symbol)
        generator.add_feed("H0STASP0", listing.symbol)
    spool.ensure()
    ids = []
    seq = 0
    now = time.time_ns()
    for n in range(count):
        segment_id = f"seg-bench-{n:04d}"
        parts = [
            MAGIC,
            encode_control(
                seq,
                now,
                {
                    "type": "segment",
                    "segment_id": segment_id,
                    "session": {"session_id": "ses-bench", "started_ns": now},
                },
            ),
        ]
        made = 0
        while made < records:
            for tr_id, _symbol, recs in generator.generate(batch_s):
                for text, k in build_frames(tr_id, recs):
                    seq += 1
                    now += 10_000
                    parts.append(encode_record(RAW, seq, now, text.encode()))
                    made += k
        (spool.sealed_dir / f"{segment_id}.seg").write_bytes(b"".join(parts))
        ids.append(segment_id)
    return ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=8)
    parser.add_argument("--records", type=int, default=200_000, help="records per segment")
    parser.add_argument(
        "--batch",
        type=float,
        default=0.01,
        help="seconds of ticks per frame batch (10 ms = the simulator's pump)",
    )
    parser.add_argument(
        "--batched",
        action="store_true",
        help="persist all segments with one promote_batch, as one tick_segment_job run does",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        spool = Spool.for_warehouse(root)
        t0 = time.perf_counter()
        # One more segment than measured: the first creates the tables (a one-time cost).
        warmup, *ids = build_segments(spool, args.segments + 1, args.records, args.batch)
        built = time.perf_counter() - t0
        sizes = [(spool.sealed_dir / f"{i}.seg").stat().st_size for i in ids]
        # Parse only (no writes), on the first segment, three times.
        records = read_segment(spool.sealed_dir / f"{ids[0]}.seg")
        parse_times, parse_cpu = [], []
        for _ in range(3):
            t, cpu = time.perf_counter(), time.process_time()
            frames = parse_records_to_tables(records, ids[0])
            parse_times.append(time.perf_counter() - t)
            parse_cpu.append(time.process_time() - cpu)
        parsed_rows = sum(f.height for f in frames.values())
        warehouse = Warehouse(root)
        promote_segment(warehouse, spool, warmup)
        results: list[PromoteResult] = []
        t1, cpu1 = time.perf_counter(), time.process_time()
        if args.batched:
            results = promote_batch(warehouse, spool, ids).results
        else:
            for segment_id in ids:
                results.append(promote_segment(warehouse, spool, segment_id))
        total = time.perf_counter() - t1
        total_cpu = time.process_time() - cpu1
    rows = sum(r.records for r in results)
    frames_total = sum(r.frames for r in results)
    report = {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "segments": len(ids),
        "batched": args.batched,
        "records": rows,
        "frames": frames_total,
        "segment_mb": round(sum(sizes) / len(sizes) / 1e6, 1),
        "build_s": round(built, 1),
        "persist_s": round(total, 2),
        "records_per_s": round(rows / total),
        "persist_cpu_s": round(total_cpu, 2),
        "records_per_cpu_s": round(rows / total_cpu),
        "per_segment_s": [round(r.seconds, 3) for r in results],
        "parse_only_records_per_s": round(parsed_rows / min(parse_times)),
        "parse_only_records_per_cpu_s": round(parsed_rows / min(parse_cpu)),
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "rejects": sum(r.rejects for r in results),
    }
    print(json.dumps(report, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "stream_persist.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
