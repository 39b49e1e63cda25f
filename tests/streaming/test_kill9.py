"""Kill -9 the collector and the persistence worker at random points, restarting the collector
each time: every frame the collector sealed is in the warehouse exactly once, no reader ever
sees a partial Parquet file, and against what the simulator sent, every tick is stored or was
lost in flight at a kill that left a recorded gap, whose trades the restart refilled from REST
as far as 30 executions reach back.

The quick test does two rounds (part of the default suite); the slow one (`-m slow`) ten, with
a DuckDB reader querying the catalog all along. Both print the loss against what was sent
(`pytest -s`).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
import pytest

from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.streaming.promote import promote_segment
from kis_pipeline.streaming.recovery import recover_all_idle
from kis_pipeline.streaming.replay import replay
from kis_pipeline.streaming.spool import CONTROL, Spool, read_segment
from kis_pipeline.streaming.tables import TICK_TABLE_NAMES
from kis_pipeline.warehouse import LakeError, Warehouse, connect
from tests.streaming.helpers import (
    sent_against_stored,
    spool_records,
    wait_for,
)

REPO = Path(__file__).resolve().parents[2]
TABLE_OF = {"H0STCNT0": "trade_ticks", "H0STASP0": "orderbook_ticks"}


def _env(server: SimulatorServer, root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIS_")}
    env.update(
        {
            "KIS_ENV": "sim",
            "KIS_APP_KEY": "PSKILLTEST" + "0" * 26,
            "KIS_APP_SECRET": "KILLSECRET" + "0" * 170,
            "KIS_REST_URL": server.rest_url,
            "KIS_WS_URL": server.ws_url,
            "KIS_STATE_DIR": str(root / "state"),
            "KIS_WAREHOUSE": str(root / "warehouse"),
        }
    )
    return env


def _start_collector(
    env: dict[str, str], symbols: list[str], duration: float = 60
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kis_pipeline.cli",
            "stream",
            "--duration",
            str(duration),
            "--symbols",
            ",".join(symbols),
            "--seal-interval",
            "0.1",
        ],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _start_promoter(env: dict[str, str], root: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.streaming.promote_loop", str(root / "warehouse")],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(10)


def _reader(root: Path, stop: threading.Event, errors: list[str], queries: list[int]) -> None:
    warehouse = Warehouse(root / "warehouse")
    catalog = warehouse.lake.catalog_file
    assert catalog is not None
    while not stop.is_set():
        if catalog.exists():
            try:
                con = connect(warehouse)
                try:
                    tables = {r[0] for r in con.execute("show tables").fetchall()}
                    for table in tables & {"trade_ticks", "orderbook_ticks"}:
                        con.execute(f"select count(*), sum(symbol is null) from {table}")
                        con.execute(f"select max(ts) from {table}").fetchall()
                        queries[0] += 1
                finally:
                    con.close()
            except (duckdb.Error, LakeError) as exc:
                errors.append(str(exc))
        time.sleep(0.05)


def kill_rounds(
    server: SimulatorServer, root: Path, rounds: int, rng: random.Random
) -> tuple[Warehouse, Spool]:
    env = _env(server, root)
    symbols = [listing.symbol for listing in server.state.market.listings[:6]]
    spool = Spool.for_warehouse(root / "warehouse")
    stop = threading.Event()
    errors: list[str] = []
    queries = [0]
    reader = threading.Thread(target=_reader, args=(root, stop, errors, queries), daemon=True)
    reader.start()
    try:
        for _ in range(rounds):
            wanted = len(spool.sealed_ids()) + len(spool.done_ids()) + 3
            persisted = len(spool.done_ids())
            collector = _start_collector(env, symbols)
            promoter = _start_promoter(env, root)
            try:
                # Kill once some segments were sealed and the promoter persisted one (so that it
                # is killed at work and the reader has tables to read on a slow machine too), at
                # a random moment after that.
                wait_for(
                    lambda n=wanted, p=persisted: (
                        len(spool.sealed_ids()) + len(spool.done_ids()) >= n
                        and len(spool.done_ids()) > p
                    ),
                    90,
                )
                time.sleep(rng.uniform(0.0, 0.6))
                _kill(promoter if rng.random() < 0.5 else collector)
                time.sleep(rng.uniform(0.0, 0.4))
            finally:
                _kill(collector)
                _kill(promoter)
                assert collector.returncode == -signal.SIGKILL, collector.stderr.read()  # type: ignore[union-attr]
        # The last kill is followed by a restart too, which streams a moment and stops cleanly.
        last = _start_collector(env, symbols, duration=3)
        try:
            _, said = last.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            last.kill()
            _, said = last.communicate(timeout=10)
            raise AssertionError(said.decode()[-5000:]) from None
        assert last.returncode == 0, said
    finally:
        stop.set()
        reader.join(5)
    assert errors == []
    assert queries[0] > 0  # the reader did query while writers were being killed
    # What the dead collectors left open is sealed by the next run of recovery (the next
    # collector, or the Dagster sensor); then every sealed segment is persisted.
    recover_all_idle(spool)
    warehouse = Warehouse(root / "warehouse")
    for segment_id in spool.sealed_ids():
        promote_segment(warehouse, spool, segment_id)
    return warehouse, spool


def check_exactly_once(warehouse: Warehouse, spool: Spool) -> None:
    assert spool.sealed_ids() == []
    assert not [p for key in spool.open_keys() for p in spool.open_dir(key).glob("*.seg")]
    in_spool = spool_records(spool)
    assert sum(in_spool.values()) > 0
    per_segment: Counter[str] = Counter()
    session_ids: set[str] = set()
    for segment_id in spool.done_ids():
        path = spool.done_dir / f"{segment_id}.seg"
        records = read_segment(path)
        for kind, payload in zip(records.kinds, records.payloads, strict=True):
            if kind != CONTROL:
                per_segment[segment_id] += int(payload.split(b"|", 3)[2])
        session_ids |= {s for s, x in replay(records).sessions.items() if x.started_here}
    stored: Counter[str] = Counter()
    for tr_id, table in TABLE_OF.items():
        frame = warehouse.read(table)
        assert frame.select("segment_id", "seq", "record").is_duplicated().sum() == 0
        if "source" in frame.columns:  # trades refilled from REST are not in the spool's frames
            frame = frame.filter(pl.col("source") == "websocket")
        assert frame.height == in_spool[tr_id], table
        stored.update(dict(frame.group_by("segment_id").len().iter_rows()))
        # Every live file is complete and the catalog agrees with it.
        with connect(warehouse) as con:
            count = con.execute(f"select count(*) from {table} where tr_id like 'H0%'")
            assert count.fetchone() == (frame.height,)
    assert stored == +per_segment
    assert "stream_rejects" not in warehouse.tables()
    sessions = warehouse.read("stream_sessions")
    assert set(sessions["session_id"]) == session_ids
    assert sessions["ended_at"].null_count() == 0  # killed sessions were ended by recovery
    lost = sessions.filter(pl.col("reason").str.starts_with("collector_lost"))
    assert lost.height >= 1
    assert set(TICK_TABLE_NAMES) >= set(TABLE_OF.values())
    # Each killed collector's restart recorded the gap it left, from its last frame on (one
    # killed before its subscriptions were back is inside the gap of the one before it).
    gaps = warehouse.read("stream_gaps")
    assert (gaps["started_at"] <= gaps["ended_at"]).all()
    assert gaps["reason"].str.starts_with("collector_lost").all()
    assert set(gaps["session_after"]) <= set(sessions["session_id"])
    for session in lost.iter_rows(named=True):
        inside = gaps.filter(
            (pl.col("session_before") == session["session_id"])
            | (pl.col("started_at") <= session["ended_at"])
            & (pl.col("ended_at") >= session["ended_at"])
        )
        assert inside.height >= 1, (session, gaps)


def check_against_sent(
    server: SimulatorServer, root: Path, warehouse: Warehouse, spool: Spool
) -> None:
    key = _env(server, root)["KIS_APP_KEY"]
    ledger = sent_against_stored(server, warehouse, spool, key)
    print("loss at kill -9 against what the simulator sent:", ledger.report())
    assert ledger.problems == []


@pytest.fixture
def kill_sim(private_sim: Callable[..., SimulatorServer]) -> SimulatorServer:
    return private_sim(tick_rate=3000)


def test_kill_9_anywhere_loses_no_sealed_frame_and_duplicates_none(
    kill_sim: SimulatorServer, tmp_path: Path
) -> None:
    warehouse, spool = kill_rounds(kill_sim, tmp_path, rounds=2, rng=random.Random(7))
    check_exactly_once(warehouse, spool)
    check_against_sent(kill_sim, tmp_path, warehouse, spool)


@pytest.mark.slow
def test_kill_9_soak(kill_sim: SimulatorServer, tmp_path: Path) -> None:
    warehouse, spool = kill_rounds(kill_sim, tmp_path, rounds=10, rng=random.Random())
    check_exactly_once(warehouse, spool)
    check_against_sent(kill_sim, tmp_path, warehouse, spool)
