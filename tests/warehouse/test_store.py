"""Atomic partition replace on the lake, strict schemas, scopes, pieces, layout and upkeep."""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing as mp
import os
import random
import signal
import time
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.kis import schemas
from kis_pipeline.warehouse import SchemaMismatch, Scope, Warehouse, WarehouseError, connect
from kis_pipeline.warehouse.maintenance import file_counts, maintain
from kis_pipeline.warehouse.statements import Count
from kis_pipeline.warehouse.tables import TABLES, TableSpec, register_table
from tests.helpers.daily_prices import DAY, SYMBOLS, prices


def sql(wh: Warehouse, query: str) -> list[tuple[object, ...]]:
    with connect(wh) as con:
        return con.execute(query).fetchall()


def test_rewriting_a_partition_replaces_it_never_doubles_it(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    wh.write_partition("daily_prices", "2024-01-02", prices(DAY, SYMBOLS, close=100))
    wh.write_partition("daily_prices", "2024-01-02", prices(DAY, SYMBOLS, close=200))
    assert sql(wh, "select count(*), min(close), max(close) from daily_prices") == [(3, 200, 200)]
    assert wh.read("daily_prices")["close"].to_list() == [200, 200, 200]
    assert wh.partitions("daily_prices") == ["2024-01-02"]


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
    # A one-symbol run whose only symbol failed writes nothing at all, not even a snapshot.
    snapshot = wh.snapshot()
    result = wh.write_partition(
        "daily_prices",
        "2024-01-03",
        prices(dt.date(2024, 1, 3), [])[:0],
        scope=Scope.of(["005930"], keep=["005930"]),
    )
    assert result.snapshot is None
    assert wh.snapshot() == snapshot and wh.partitions("daily_prices") == ["2024-01-02"]


def test_a_scoped_write_inside_a_merged_file_keeps_the_other_days(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    days = [dt.date(2024, 1, 2), dt.date(2024, 1, 3)]
    wh.write_partitions("daily_prices", {day.isoformat(): prices(day, SYMBOLS) for day in days})
    maintain(wh)
    assert file_counts(wh) == {"daily_prices": 1}
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
        deadline = time.monotonic() + 180
        while reads < 20 and time.monotonic() < deadline:
            present = closes(wh) if wh.partitions("daily_prices") else {}
            for symbol, close in newest.items():
                assert present.get(symbol, 0) >= close, f"{symbol}'s row was undone: {present}"
            newest.update(present)
            reads += len(newest) == len(SYMBOLS)
    finally:
        for w in writers:
            os.kill(w.pid or 0, signal.SIGKILL)
            w.join()
    assert reads == 20


def test_maintenance_leaves_a_file_per_year_and_queries_do_not_change(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    days = [dt.date(2023, 12, 1) + dt.timedelta(days=i) for i in range(45)]
    for i, day in enumerate(days):
        wh.write_partition("daily_prices", day.isoformat(), prices(day, SYMBOLS, close=100 + i))
    query = "select date, symbol, close from daily_prices order by date, symbol"
    before = sql(wh, query)
    # Three rows a day stay in the catalog (DuckLake's data inlining) until maintenance.
    assert file_counts(wh)["daily_prices"] == 0
    result = maintain(wh)
    assert result.files_after == {"daily_prices": 2}  # 2023 and 2024
    assert sql(wh, query) == before
    # Re-materializing one day inside a merged file replaces just that day.
    wh.write_partition("daily_prices", "2024-01-10", prices(dt.date(2024, 1, 10), SYMBOLS, close=1))
    rows = sql(wh, "select count(*), sum(case when close = 1 then 1 else 0 end) from daily_prices")
    assert rows == [(45 * 3, 3)]
    assert wh.partitions("daily_prices") == [d.isoformat() for d in days]
    assert maintain(wh).files_after == {"daily_prices": 2}


def test_a_reader_holding_a_connection_sees_its_snapshot_and_the_writer_goes_on(
    tmp_path: Path,
) -> None:
    wh = Warehouse(tmp_path)
    wh.write_partition("daily_prices", "2024-01-02", prices(DAY, SYMBOLS, close=100))
    notebook = connect(wh)
    try:
        notebook.execute("begin transaction")
        assert notebook.execute("select max(close) from daily_prices").fetchone() == (100,)
        wh.write_partition("daily_prices", "2024-01-02", prices(DAY, SYMBOLS, close=300))
        wh.write_partition("daily_prices", "2024-01-03", prices(dt.date(2024, 1, 3), SYMBOLS))
        # The open transaction still answers from its snapshot.
        assert notebook.execute("select max(close) from daily_prices").fetchone() == (100,)
        notebook.execute("commit")
        assert notebook.execute("select count(*), max(close) from daily_prices").fetchone() == (
            6,
            300,
        )
    finally:
        notebook.close()


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


def test_pieces_replace_only_themselves_even_after_a_merge(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    wh.write_partition("test_segmented", "2024-01-02", segment("s1", range(0, 10)), part="s1")
    wh.write_partition("test_segmented", "2024-01-02", segment("s2", range(10, 20)), part="s2")
    wh.write_partition("test_segmented", "2024-01-02", segment("s1", range(0, 10)), part="s1")
    assert wh.read("test_segmented")["seq"].sort().to_list() == list(range(20))
    maintain(wh)
    assert file_counts(wh)["test_segmented"] <= 1
    # Rerunning a segment after its pieces were merged still never duplicates it.
    wh.write_partition("test_segmented", "2024-01-02", segment("s2", range(10, 20)), part="s2")
    assert wh.read("test_segmented")["seq"].sort().to_list() == list(range(20))


def test_a_column_added_to_a_schema_reads_as_null_in_older_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lake written before a table gained a column (quality_flag) keeps working: reads, SQL
    and maintenance give the older rows the new column as null."""
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
    # Reading with the new spec before any write has added the column to the lake.
    monkeypatch.setitem(TABLES, "test_evolving", new)
    assert wh.read("test_evolving").rows() == [(DAY, 100, None)]

    monkeypatch.setitem(TABLES, "test_evolving", new)
    later = dt.date(2024, 1, 3)
    second = pl.DataFrame({"date": [later], "close": [200], "flag": ["x"]}, schema=new.schema)
    wh.write_partition("test_evolving", later.isoformat(), second)

    want = [(DAY, 100, None), (later, 200, "x")]
    assert wh.read("test_evolving").sort("date").rows() == want
    assert sql(wh, "select date, close, flag from test_evolving order by date") == want
    maintain(wh)
    assert wh.read("test_evolving").sort("date").rows() == want
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
        frame = wh.read("daily_prices")  # reads every live file: each is whole
        assert frame.height == 3 * len(wh.partitions("daily_prices"))
        assert not frame.select("date", "symbol").is_duplicated().any()
    assert "daily_prices" in TABLES


def test_files_a_killed_writer_never_committed_are_deleted_by_maintenance(
    tmp_path: Path,
) -> None:
    wh = Warehouse(tmp_path)
    wh.write_partition("daily_prices", DAY.isoformat(), prices(DAY, SYMBOLS))
    folder = tmp_path / "lake" / "main" / "daily_prices" / "year=2024"
    folder.mkdir(parents=True, exist_ok=True)
    # What kill -9 leaves mid-write: a file the catalog never heard of, one hour old.
    orphan = folder / "ducklake-orphan.parquet"
    prices(DAY, ["000660"]).write_parquet(orphan)
    old = time.time() - 2 * 3600
    os.utime(orphan, (old, old))
    fresh = folder / "ducklake-being-written.parquet"
    prices(DAY, ["035420"]).write_parquet(fresh)
    assert maintain(wh).orphans_deleted == 1
    assert not orphan.exists() and fresh.exists()
    assert sorted(wh.read("daily_prices")["symbol"]) == sorted(SYMBOLS)


def test_one_process_shares_one_warehouse_and_a_replaced_folder_gets_a_fresh_one(
    tmp_path: Path,
) -> None:
    import shutil

    from kis_pipeline.warehouse.lake import LakeConfig

    root = tmp_path / "wh"
    first = Warehouse.shared(root, LakeConfig.local(root))
    first.write_partition("daily_prices", "2024-01-02", prices(DAY, SYMBOLS, close=100))
    again = Warehouse.shared(root, LakeConfig.local(root))
    assert again is first  # one attached lake for every asset and run of the process
    assert Warehouse.at(root) is first  # what resources and commands open
    assert Warehouse.shared(tmp_path / "other", LakeConfig.local(tmp_path / "other")) is not first
    # Deleted and made anew (a user starting over): the old connection would read the
    # deleted catalog.
    shutil.rmtree(root)
    Warehouse(root).write_partition("daily_prices", DAY.isoformat(), prices(DAY, ["005930"]))
    fresh = Warehouse.shared(root, LakeConfig.local(root))
    assert fresh is not first
    assert fresh.read("daily_prices")["symbol"].to_list() == ["005930"]


def test_count_counts_the_rows_of_some_partitions_that_satisfy_a_condition(
    tmp_path: Path,
) -> None:
    wh = Warehouse(tmp_path)
    assert wh.count("daily_prices") == 0  # no table yet
    wh.write_partition("daily_prices", "2024-01-02", prices(DAY, SYMBOLS))
    later = DAY + dt.timedelta(days=1)
    wh.write_partition("daily_prices", later.isoformat(), prices(later, SYMBOLS[:2]))
    assert wh.count("daily_prices") == 5
    assert wh.count("daily_prices", [later.isoformat()]) == 2
    assert wh.count("daily_prices", []) == 0
    picked = "symbol IN (SELECT unnest(?::VARCHAR[]))"
    assert wh.count("daily_prices", None, picked, [["035420"]]) == 1
    assert wh.count("daily_prices", ["2024-01-02"], picked, [["005930", "035420"]]) == 2
    # Several counts at once, each with its own parameters, a table never written among them.
    asked = [
        Count("daily_prices", [later.isoformat()]),
        Count("investor_flows"),
        Count("daily_prices", None, picked, [["035420"]]),
        Count("daily_prices", []),
        Count("daily_prices", ["2024-01-02"], picked, [["005930", "035420"]]),
    ]
    assert wh.counts(asked) == [2, 0, 1, 0, 2]


def test_tables_made_together_cost_two_catalog_commits_and_take_writes_at_once(
    tmp_path: Path,
) -> None:
    """What a backfill does before its runs: its tables in two commits, not two per table."""
    wh = Warehouse(tmp_path)
    before = wh.snapshot()
    wh.ensure(["investor_flows", "rankings", "daily_prices_adjusted", "daily_prices"])
    assert wh.snapshot() - before == 2  # create all, then set all their options
    assert {"investor_flows", "rankings", "daily_prices_adjusted", "daily_prices"} <= set(
        wh.tables()
    )
    assert wh.partitions("rankings") == []  # made, nothing written
    wh.ensure(["rankings"])
    assert wh.snapshot() - before == 2  # already as declared: no commit
    # Another process finds them made: its first write is its only commit.
    other = Warehouse(tmp_path)
    other.write_partition("daily_prices", "2024-01-02", prices(DAY, SYMBOLS))
    assert other.snapshot() - before == 3
    assert other.read("daily_prices").height == len(SYMBOLS)
