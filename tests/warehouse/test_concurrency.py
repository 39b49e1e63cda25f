"""Several processes on one lake: writers retry catalog conflicts and never lose or double a
partition; a reader holding a connection blocks no writer, and no writer blocks it."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import time
from pathlib import Path

import duckdb
import polars as pl

from kis_pipeline.warehouse import Warehouse, connect
from tests.helpers.daily_prices import SYMBOLS, prices

ROUNDS = 6
DAYS = [dt.date(2024, 1, 2) + dt.timedelta(days=n) for n in range(4)]
MANY = [f"{n:06d}" for n in range(40)]  # more rows than DuckLake inlines: real files


def _write_rounds(root: str, day: str, close: int, start: float) -> None:
    while time.time() < start:  # all writers begin together
        time.sleep(0.001)
    wh = Warehouse(Path(root))
    for n in range(ROUNDS):
        when = dt.date.fromisoformat(day)
        wh.write_partition("daily_prices", day, prices(when, MANY, close=close + n))


def _run(root: Path, jobs: list[tuple[str, int]]) -> None:
    ctx = mp.get_context("spawn")
    start = time.time() + 3.0
    writers = [
        ctx.Process(target=_write_rounds, args=(str(root), day, close, start))
        for day, close in jobs
    ]
    for w in writers:
        w.start()
    for w in writers:
        w.join(300)
    assert [w.exitcode for w in writers] == [0] * len(writers)


def test_four_processes_writing_different_partitions_of_one_table(tmp_path: Path) -> None:
    _run(tmp_path, [(day.isoformat(), 100 * (i + 1)) for i, day in enumerate(DAYS)])
    wh = Warehouse(tmp_path)
    frame = wh.read("daily_prices")
    assert frame.height == len(DAYS) * len(MANY)
    assert not frame.select("date", "symbol").is_duplicated().any()
    # Each day holds its writer's last round, whole.
    last = frame.group_by("date").agg(lo=pl.col("close").min(), hi=pl.col("close").max())
    assert sorted(last.rows()) == [
        (day, 100 * (i + 1) + ROUNDS - 1, 100 * (i + 1) + ROUNDS - 1) for i, day in enumerate(DAYS)
    ]
    assert wh.partitions("daily_prices") == [d.isoformat() for d in DAYS]


def test_two_processes_writing_the_same_new_partition_leave_one_copy(tmp_path: Path) -> None:
    day = DAYS[0].isoformat()
    _run(tmp_path, [(day, 100), (day, 500)])
    wh = Warehouse(tmp_path)
    frame = wh.read("daily_prices")
    assert frame.height == len(MANY)
    assert not frame.select("date", "symbol").is_duplicated().any()
    # One writer's whole round, not a mix of two.
    assert frame["close"].n_unique() == 1
    assert frame["close"][0] in (100 + ROUNDS - 1, 500 + ROUNDS - 1)


def _hold_reader(root: str, opened: mp.Event, release: mp.Event, seen: mp.Queue) -> None:
    con = connect(Warehouse(Path(root)))
    con.execute("begin transaction")
    seen.put(con.execute("select count(*), max(close) from daily_prices").fetchone())
    opened.set()
    release.wait(120)
    # Still its snapshot: the writes that committed meanwhile are not half-seen.
    seen.put(con.execute("select count(*), max(close) from daily_prices").fetchone())
    con.execute("commit")
    seen.put(con.execute("select count(*), max(close) from daily_prices").fetchone())
    con.close()


def test_a_reader_in_another_process_holding_its_connection_blocks_no_writer(
    tmp_path: Path,
) -> None:
    wh = Warehouse(tmp_path)
    wh.write_partition("daily_prices", DAYS[0].isoformat(), prices(DAYS[0], SYMBOLS, close=100))
    ctx = mp.get_context("spawn")
    opened, release, seen = ctx.Event(), ctx.Event(), ctx.Queue()
    reader = ctx.Process(target=_hold_reader, args=(str(tmp_path), opened, release, seen))
    reader.start()
    try:
        assert opened.wait(60)
        # The writer commits while the reader's transaction is open, in another process.
        wh.write_partition("daily_prices", DAYS[0].isoformat(), prices(DAYS[0], SYMBOLS, 300))
        wh.write_partition("daily_prices", DAYS[1].isoformat(), prices(DAYS[1], SYMBOLS, 300))
        assert wh.read("daily_prices").height == 6
    finally:
        release.set()
        reader.join(60)
    assert reader.exitcode == 0
    assert [seen.get(timeout=5) for _ in range(3)] == [(3, 100), (3, 100), (6, 300)]


def _write_slowly(root: str, started: mp.Event, release: mp.Event) -> None:
    wh = Warehouse(Path(root))
    day = DAYS[2]

    # A write whose transaction stays open until released: the catalog commit comes last.
    cur = wh._cursor()
    cur.execute("begin transaction")
    cur.execute("delete from daily_prices where date = ?", [day])
    frame = prices(day, SYMBOLS, close=900)
    cur.register("rows", frame.to_arrow())
    cur.execute("insert into daily_prices select * from rows")
    started.set()
    release.wait(120)
    cur.execute("commit")


def test_a_writer_in_another_process_mid_transaction_blocks_no_reader(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    wh.write_partition("daily_prices", DAYS[0].isoformat(), prices(DAYS[0], SYMBOLS, close=100))
    ctx = mp.get_context("spawn")
    started, release = ctx.Event(), ctx.Event()
    writer = ctx.Process(target=_write_slowly, args=(str(tmp_path), started, release))
    writer.start()
    try:
        assert started.wait(60)
        with connect(wh) as con:
            assert con.execute("select count(*) from daily_prices").fetchone() == (3,)
    finally:
        release.set()
        writer.join(60)
    assert writer.exitcode == 0
    with connect(wh) as con:
        assert con.execute("select count(*), max(close) from daily_prices").fetchone() == (6, 900)


def test_a_table_created_by_another_process_mid_transaction_is_a_race_to_retry() -> None:
    from kis_pipeline.warehouse.statements import is_conflict

    # What CI met once while two processes created `daily_prices` at the same moment.
    seen = duckdb.CatalogException(
        "Catalog Error: Failed to read inlined data from DuckLake: Table with name "
        "ducklake_inlined_data_2_1 does not exist!"
    )
    assert is_conflict(seen)
    assert not is_conflict(
        duckdb.CatalogException("Catalog Error: Table with name x does not exist!")
    )
