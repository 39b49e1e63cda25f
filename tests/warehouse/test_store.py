"""Atomic partition replace, strict schemas, compaction and the DuckDB catalog."""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing as mp
import os
import random
import signal
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from kis_pipeline.kis import schemas
from kis_pipeline.warehouse import SchemaMismatch, Scope, Warehouse, WarehouseError, connect
from kis_pipeline.warehouse.manifest import Manifest
from kis_pipeline.warehouse.tables import TABLES, TableSpec, register_table


def prices(day: dt.date, symbols: list[str], close: int = 100) -> pl.DataFrame:
    n = len(symbols)
    return pl.DataFrame(
        {
            "date": [day] * n,
            "symbol": symbols,
            "open": [close] * n,
            "high": [close + 5] * n,
            "low": [close - 5] * n,
            "close": [close] * n,
            "volume": [1000] * n,
            "value": [close * 1000] * n,
            "change": [0] * n,
            "venue": ["KRX"] * n,
            "ex_rights_code": ["00"] * n,
            "split_ratio": [0.0] * n,
            "revaluation_reason": [""] * n,
            "is_modified": [False] * n,
            "quality_flag": [None] * n,
        },
        schema=schemas.DAILY_PRICES,
    )


SYMBOLS = ["005930", "000660", "035420"]
DAY = dt.date(2024, 1, 2)


def sql(wh: Warehouse, query: str) -> list[tuple[object, ...]]:
    with connect(wh) as con:
        return con.execute(query).fetchall()


def test_rewriting_a_partition_replaces_it_never_doubles_it(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    wh.write_partition("daily_prices", "2024-01-02", prices(DAY, SYMBOLS, close=100))
    wh.write_partition("daily_prices", "2024-01-02", prices(DAY, SYMBOLS, close=200))
    assert sql(wh, "select count(*), min(close), max(close) from daily_prices") == [(3, 200, 200)]
    assert len(wh.live_files("daily_prices")) == 1
    assert wh.read("daily_prices")["close"].to_list() == [200, 200, 200]


def test_schema_changes_are_errors_not_silent_casts(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    frame = prices(DAY, SYMBOLS)
    with pytest.raises(SchemaMismatch, match=r"close is Float64, expected Int64"):
        wh.write_partition(
            "daily_prices", "2024-01-02", frame.with_columns(pl.col("close").cast(pl.Float64))
        )
    with pytest.raises(SchemaMismatch, match=r"unexpected \['extra'\]"):
        wh.write_partition("daily_prices", "2024-01-02", frame.with_columns(extra=pl.lit(1)))
    with pytest.raises(SchemaMismatch, match=r"missing \['value'\]"):
        wh.write_partition("daily_prices", "2024-01-02", frame.drop("value"))
    assert wh.tables() == []


def test_rows_must_belong_to_the_partition_and_keys_must_be_unique(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    with pytest.raises(WarehouseError, match="do not belong to partition 2024-01-03"):
        wh.write_partition("daily_prices", "2024-01-03", prices(DAY, SYMBOLS))
    with pytest.raises(WarehouseError, match="share a key"):
        wh.write_partition("daily_prices", "2024-01-02", prices(DAY, ["005930", "005930"]))
    with pytest.raises(WarehouseError, match="unknown table 'prices'"):
        wh.write_partition("prices", "2024-01-02", prices(DAY, SYMBOLS))
    with pytest.raises(WarehouseError, match="is not a date"):
        wh.write_partition("daily_prices", "20240102", prices(DAY, SYMBOLS))


def closes(wh: Warehouse, partition: str = "2024-01-02") -> dict[str, int]:
    frame = wh.read("daily_prices", [partition])
    return dict(zip(frame["symbol"].to_list(), frame["close"].to_list(), strict=True))


def test_a_scoped_write_replaces_only_its_symbols_rows(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    wh.write_partition("daily_prices", "2024-01-02", prices(DAY, SYMBOLS, close=100))
    # A run for one symbol: its row is replaced, the others stay.
    wh.write_partition(
        "daily_prices", "2024-01-02", prices(DAY, ["000660"], close=200), scope=Scope.of(["000660"])
    )
    assert closes(wh) == {"005930": 100, "000660": 200, "035420": 100}
    # A symbol of the scope without a row any more loses its row; nothing else does.
    wh.write_partition(
        "daily_prices", "2024-01-02", prices(DAY, [])[:0], scope=Scope.of(["035420"])
    )
    assert closes(wh) == {"005930": 100, "000660": 200}
    assert len(wh.live_files("daily_prices")) == 1
    with pytest.raises(WarehouseError, match="outside the symbol values this write replaces"):
        wh.write_partition(
            "daily_prices", "2024-01-02", prices(DAY, SYMBOLS), scope=Scope.of(["005930"])
        )
    assert closes(wh) == {"005930": 100, "000660": 200}


def test_kept_symbols_keep_their_stored_rows_whatever_the_frame_holds(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    wh.write_partition("daily_prices", "2024-01-02", prices(DAY, SYMBOLS, close=100))
    # A whole-universe run in which 000660 failed: the others are replaced, 000660 is kept.
    wh.write_partition(
        "daily_prices",
        "2024-01-02",
        prices(DAY, ["005930", "035420"], close=300),
        scope=Scope.of(keep=["000660"]),
    )
    assert closes(wh) == {"005930": 300, "000660": 100, "035420": 300}
    # A one-symbol run whose only symbol failed writes nothing at all, not even a new file.
    files = wh.live_files("daily_prices")
    result = wh.write_partition(
        "daily_prices",
        "2024-01-03",
        prices(dt.date(2024, 1, 3), [])[:0],
        scope=Scope.of(["005930"], keep=["005930"]),
    )
    assert result.path is None
    assert wh.live_files("daily_prices") == files and wh.partitions("daily_prices") == [
        "2024-01-02"
    ]


def test_a_scoped_write_inside_a_compacted_month_keeps_the_other_days(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    days = [dt.date(2024, 1, 2), dt.date(2024, 1, 3)]
    for day in days:
        wh.write_partition("daily_prices", day.isoformat(), prices(day, SYMBOLS), refresh=False)
    wh.compact("daily_prices", before=dt.date(2024, 2, 1))
    wh.write_partition(
        "daily_prices",
        "2024-01-03",
        prices(days[1], ["005930"], close=7),
        scope=Scope.of(["005930"]),
    )
    assert closes(wh, "2024-01-02") == dict.fromkeys(SYMBOLS, 100)
    assert closes(wh, "2024-01-03") == {"005930": 7, "000660": 100, "035420": 100}
    assert sql(wh, "select count(*) from daily_prices") == [(6,)]


def _write_one_symbol_forever(root: str, symbol: str) -> None:
    wh = Warehouse(Path(root))
    close = 0
    while True:
        close += 1
        wh.write_partition(
            "daily_prices", "2024-01-02", prices(DAY, [symbol], close), scope=Scope.of([symbol])
        )


def test_concurrent_scoped_writers_of_one_partition_never_undo_each_other(
    tmp_path: Path,
) -> None:
    """Three processes rewrite one symbol each of the same partition, with rising closes: no
    write may drop or roll back another symbol's row."""
    ctx = mp.get_context("spawn")
    writers = [
        ctx.Process(target=_write_one_symbol_forever, args=(str(tmp_path), symbol))
        for symbol in SYMBOLS
    ]
    for w in writers:
        w.start()
    wh = Warehouse(tmp_path)
    newest: dict[str, int] = {}
    reads = 0
    try:
        deadline = time.monotonic() + 60
        while reads < 300 and time.monotonic() < deadline:
            present = closes(wh) if wh.partitions("daily_prices") else {}
            for symbol, close in newest.items():
                assert present.get(symbol, 0) >= close, f"{symbol}'s row was undone: {present}"
            newest.update(present)
            reads += len(newest) == len(SYMBOLS)
    finally:
        for w in writers:
            os.kill(w.pid or 0, signal.SIGKILL)
            w.join()
    assert reads == 300


def test_compaction_merges_closed_months_and_queries_do_not_change(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(45)]
    for i, day in enumerate(days):
        wh.write_partition(
            "daily_prices", day.isoformat(), prices(day, SYMBOLS, close=100 + i), refresh=False
        )
    wh.refresh_catalog()
    query = "select date, symbol, close from daily_prices order by date, symbol"
    before = sql(wh, query)
    result = wh.compact("daily_prices", before=dt.date(2024, 3, 1))
    assert (result.files_before, result.files_after) == (45, 2)
    assert sql(wh, query) == before
    # Re-materializing one day inside a compacted month replaces just that day.
    wh.write_partition("daily_prices", "2024-01-10", prices(dt.date(2024, 1, 10), SYMBOLS, close=1))
    rows = sql(wh, "select count(*), sum(case when close = 1 then 1 else 0 end) from daily_prices")
    assert rows == [(45 * 3, 3)]
    assert wh.partitions("daily_prices") == [d.isoformat() for d in days]
    # January is in two files again until the next compaction merges it back; February, still
    # open on 2024-02-10, is left alone.
    again = wh.compact("daily_prices", before=dt.date(2024, 2, 10))
    assert (again.groups, again.files_after) == (1, 2)
    assert wh.compact("daily_prices", before=dt.date(2024, 2, 10)).groups == 0


def test_a_reader_holding_the_catalog_does_not_block_the_writer(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    wh.write_partition("daily_prices", "2024-01-02", prices(DAY, SYMBOLS, close=100))
    notebook = duckdb.connect(str(wh.catalog_path), read_only=True)
    try:
        wh.write_partition("daily_prices", "2024-01-02", prices(DAY, SYMBOLS, close=300))
        wh.write_partition("daily_prices", "2024-01-03", prices(dt.date(2024, 1, 3), SYMBOLS))
        # The open connection still answers from the files of its catalog (kept for a grace time).
        assert notebook.execute("select max(close) from daily_prices").fetchone() == (100,)
    finally:
        notebook.close()
    assert sql(wh, "select count(*), max(close) from daily_prices") == [(6, 300)]


def test_catalog_has_latest_views_for_fundamentals(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    base = {"symbol": ["005930"], "period": ["202412"], "period_type": ["annual"]}
    for as_of, assets in ((dt.date(2025, 3, 1), 10), (dt.date(2025, 3, 8), 12)):
        frame = (
            pl.DataFrame({"as_of": [as_of], **base})
            .with_columns(
                *[
                    pl.lit(assets if c == "total_assets" else 1).alias(c)
                    for c in schemas.BALANCE_SHEET
                    if c not in ("as_of", "symbol", "period", "period_type")
                ]
            )
            .cast(dict(schemas.BALANCE_SHEET))
        )
        wh.write_partition(
            "balance_sheet", as_of.isoformat(), frame.select(list(schemas.BALANCE_SHEET))
        )
    assert sql(wh, "select count(*) from balance_sheet") == [(2,)]
    assert sql(wh, "select as_of, total_assets from balance_sheet_latest") == [
        (dt.date(2025, 3, 8), 12)
    ]


SEGMENTED = register_table(
    TableSpec(
        "test_segmented",
        pl.Schema({"date": pl.Date, "segment_id": pl.String, "seq": pl.Int64}),
        "date",
        "date",
        ("segment_id", "seq"),
        ("seq",),
        "test table with pieces",
    )
)


def segment(seg: str, seqs: range) -> pl.DataFrame:
    return pl.DataFrame(
        {"date": [DAY] * len(seqs), "segment_id": [seg] * len(seqs), "seq": list(seqs)},
        schema=SEGMENTED.schema,
    )


def test_pieces_replace_only_themselves_even_after_compaction(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    wh.write_partition("test_segmented", "2024-01-02", segment("s1", range(0, 10)), part="s1")
    wh.write_partition("test_segmented", "2024-01-02", segment("s2", range(10, 20)), part="s2")
    wh.write_partition("test_segmented", "2024-01-02", segment("s1", range(0, 10)), part="s1")
    assert wh.read("test_segmented")["seq"].sort().to_list() == list(range(20))
    assert wh.compact("test_segmented", grain="day", before=dt.date(2024, 1, 3)).files_after == 1
    # Rerunning a segment after compaction still never duplicates it.
    wh.write_partition("test_segmented", "2024-01-02", segment("s2", range(10, 20)), part="s2")
    assert wh.read("test_segmented")["seq"].sort().to_list() == list(range(20))


def test_a_column_added_to_a_schema_reads_as_null_in_older_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warehouse written before a table gained a column (quality_flag) keeps working: reads,
    the catalog and compaction give the older rows the new column as null."""
    old = TableSpec(
        "test_evolving",
        pl.Schema({"date": pl.Date, "close": pl.Int64}),
        "date",
        "date",
        ("date",),
        ("date",),
        "a table whose schema gains a column",
    )
    new = dataclasses.replace(old, schema=pl.Schema({**old.schema, "flag": pl.String}))
    wh = Warehouse(tmp_path)
    monkeypatch.setitem(TABLES, "test_evolving", old)
    first = pl.DataFrame({"date": [DAY], "close": [100]}, schema=old.schema)
    wh.write_partition("test_evolving", DAY.isoformat(), first)
    # As a manifest listed files before it recorded their columns.
    manifest = Manifest.load(wh.table_dir("test_evolving"))
    for entry in manifest.entries:
        entry.columns = None
    manifest.save(wh.table_dir("test_evolving"))

    monkeypatch.setitem(TABLES, "test_evolving", new)
    later = dt.date(2024, 1, 3)
    second = pl.DataFrame({"date": [later], "close": [200], "flag": ["x"]}, schema=new.schema)
    wh.write_partition("test_evolving", later.isoformat(), second)

    want = [(DAY, 100, None), (later, 200, "x")]
    assert wh.read("test_evolving").sort("date").rows() == want
    assert sql(wh, "select date, close, flag from test_evolving order by date") == want
    wh.compact("test_evolving", before=dt.date(2024, 2, 1))
    assert wh.read("test_evolving").sort("date").rows() == want
    assert not wh.has_older_files("test_evolving")
    assert sql(wh, "select date, close, flag from test_evolving order by date") == want


def _write_forever(root: str, seed: int) -> None:
    wh = Warehouse(Path(root))
    rng = random.Random(seed)
    while True:
        day = dt.date(2024, 1, 2 + rng.randrange(3))
        wh.write_partition(
            "daily_prices", day.isoformat(), prices(day, SYMBOLS, close=rng.randrange(1, 999))
        )


def test_killed_writers_never_leave_a_partial_or_doubled_partition(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    rng = random.Random(5)
    for round_ in range(4):
        writers = [
            ctx.Process(target=_write_forever, args=(str(tmp_path), round_ * 10 + i))
            for i in range(2)
        ]
        for w in writers:
            w.start()
        time.sleep(1.0 + rng.random())
        for w in writers:
            os.kill(w.pid or 0, signal.SIGKILL)
            w.join()
        wh = Warehouse(tmp_path)
        manifest = Manifest.load(wh.table_dir("daily_prices"))
        for entry in manifest.entries:
            pl.read_parquet(wh.table_dir("daily_prices") / entry.file)  # every live file is whole
        frame = wh.read("daily_prices")
        assert frame.height == 3 * len(wh.partitions("daily_prices"))
        assert not frame.select("date", "symbol").is_duplicated().any()
    assert "daily_prices" in TABLES


def _dead_pid() -> int:
    child = mp.get_context("spawn").Process(target=time.sleep, args=(0,))
    child.start()
    child.join()
    assert child.pid is not None
    return child.pid


def test_files_a_killed_writer_never_published_are_swept_and_live_writers_kept(
    tmp_path: Path,
) -> None:
    wh = Warehouse(tmp_path)
    day = dt.date(2024, 1, 2)
    wh.write_partition("daily_prices", day.isoformat(), prices(day, ["005930"]))
    folder = wh.table_dir("daily_prices") / f"date={day}"
    dead = _dead_pid()
    # What kill -9 leaves mid-write: an empty file and a whole one, neither published.
    leftovers = [
        folder / f"part-20240102T000000-p{dead}-{'a' * 12}.parquet",
        folder / f"part-20240102T000000-p{dead}-{'b' * 12}.parquet",
    ]
    leftovers[0].touch()
    prices(day, ["000660"]).write_parquet(leftovers[1])
    # A writer that is still running (this process) is about to publish its own.
    pending = folder / f"part-20240102T000000-p{os.getpid()}-{'c' * 12}.parquet"
    prices(day, ["035420"]).write_parquet(pending)

    assert wh.sweep_unpublished() == 2
    assert not any(p.exists() for p in leftovers)
    assert pending.exists()
    assert wh.read("daily_prices")["symbol"].to_list() == ["005930"]
