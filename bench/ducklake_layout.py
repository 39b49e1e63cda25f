"""DuckLake layout benchmark: which table layout and options bring lake queries near one ideal file.

Writes daily prices shaped like `daily_prices` (the simulator's market model, as
`bench/duckdb_layout.py` does) into several DuckLakes, one per candidate layout, the way the
pipeline writes them: a backfill of many small commits, each replacing its days' rows
(`--backfill-grain month`: one commit per month of days; `day`: one per day), then maintenance,
then `--nights` nightly runs that each append one day and run maintenance again. The last
`--nights` sessions are held back from the backfill for that.

Then, side by side in one run and interleaved query by query (so that other load on the
machine hits every layout alike), it times three queries through each lake against the same
queries on ONE ideal Parquet file sorted by (symbol, date) with 16,384-row row groups: one
symbol's history, one day's cross-section, a full-table aggregate. Each lake is also read
without its catalog (`read_parquet` over the lake's current files) and with a query whose every
file the catalog prunes, which splits a lake query into catalog lookup and scan. Two reader
profiles: DuckDB's defaults, and `parquet_metadata_cache` on.

Last: a cold start (a new process: load the extensions, attach, first query); how the catalog
lookup grows with the files another table holds (`--catalog-files`); and, on the layouts that
come out ahead, the cost of one day's partition write per commit (SQLite catalog in WAL and in
rollback-journal mode, DuckDB catalog), 100 day-partitions replaced in 100 transactions against
one, and the maintenance that brings the restated layout back.

Needs DuckDB 1.5.5 with the PyPI packages `duckdb-extension-ducklake==1.5.5` and
`duckdb-extension-sqlite-scanner==1.5.5`; the extensions are installed from those packages'
files, never downloaded. Writes `bench/results/ducklake_layout.json`.

    .venv/bin/python bench/ducklake_layout.py [--universe 2700] [--years 10] [--runs 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl
from duckdb_layout import NOW, SYMBOL, daily_prices, queries

from kis_pipeline.kis import schemas
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market import Market
from kis_pipeline.warehouse import extensions

RESULTS = Path(__file__).parent / "results"
TABLE = "daily_prices"
EXTENSIONS = ("ducklake", "sqlite_scanner")
IDEAL_ROW_GROUP = 16_384
# A symbol above every real code: the catalog's min/max statistics prune every file, so the
# query costs the catalog lookup and nothing else.
CATALOG_PROBE = "SELECT count(*) FROM prices WHERE symbol = '~'"
READER_PROFILES: dict[str, dict[str, object]] = {
    "defaults": {},
    "metadata_cache": {"parquet_metadata_cache": True},
}
DUCKDB_TYPES = {
    pl.Date: "DATE",
    pl.String: "VARCHAR",
    pl.Int64: "BIGINT",
    pl.Float64: "DOUBLE",
    pl.Boolean: "BOOLEAN",
}


@dataclass(frozen=True)
class Layout:
    """One candidate: how the table is declared and kept. `options` go through `set_option` on
    the table; `inlining` is the row limit in force when the table is created (None: DuckLake's
    default, 10)."""

    name: str
    description: str
    catalog: str = "sqlite"
    partition: str | None = "year(date)"
    sorted_by: str | None = "symbol, date"
    options: dict[str, object] = field(default_factory=dict)
    inlining: int | None = 0
    maintain: bool = True
    # Nightly merges leave files of at least this size alone (None: merge up to the target
    # file size every night); a full merge runs once after the backfill, as a yearly one would.
    nightly_merge_below: int | None = None


TUNED = {"parquet_compression": "zstd", "parquet_row_group_size": IDEAL_ROW_GROUP}
LAYOUTS = [
    Layout(
        "trial-defaults",
        "yearly partitions, sorted, every other option at DuckLake's default",
        options={},
        inlining=None,
    ),
    Layout(
        "year", "yearly partitions, sorted, zstd, 16,384-row groups, no inlining", options=TUNED
    ),
    Layout(
        "year-snappy",
        "as `year`, snappy compression (DuckLake's default) instead of zstd",
        options={**TUNED, "parquet_compression": "snappy"},
    ),
    Layout(
        "year-inlining-on",
        "as `year`, but created with inlining at its default (empty inlined tables remain)",
        options={**TUNED, "data_inlining_row_limit": 0},
        inlining=None,
    ),
    Layout("year-unmaintained", "as `year`, never merged", options=TUNED, maintain=False),
    Layout(
        "year-duckdb-catalog", "as `year`, DuckDB catalog file", catalog="duckdb", options=TUNED
    ),
    Layout(
        "single-file",
        "no partitions, sorted, target file size above the table: one file",
        partition=None,
        options={**TUNED, "target_file_size": "4GB"},
    ),
    Layout(
        "history-plus-recent",
        "as `single-file`, but nightly merges only touch files under 32 MB: one file of "
        "closed history (merged yearly) and one of recent days",
        partition=None,
        options={**TUNED, "target_file_size": "4GB"},
        nightly_merge_below=32_000_000,
    ),
]
# Where the catalog-level figures are taken (cold start, catalog growth, journal mode): they
# depend on the catalog, not on the table's compression.
CATALOG_LAYOUT = "year"
# Where writes are costed: the two layouts that come out ahead, and the same on a DuckDB catalog.
WRITE_COST_LAYOUTS = ("year", "history-plus-recent", "year-duckdb-catalog")

# Order matters: rewrite files that carry deletes (restated days) so that merge, which skips
# them, can fold them back into one file per partition; expire, then delete what expired.
MAINTENANCE = (
    ("flush", "CALL ducklake_flush_inlined_data('lake')"),
    ("rewrite", f"CALL ducklake_rewrite_data_files('lake', '{TABLE}', delete_threshold => 0)"),
    ("merge", f"CALL ducklake_merge_adjacent_files('lake', '{TABLE}'{{merge_args}})"),
    ("expire", "CALL ducklake_expire_snapshots('lake', older_than => now())"),
    ("cleanup", "CALL ducklake_cleanup_old_files('lake', cleanup_all => true)"),
)


def connect(settings: dict[str, object] | None = None) -> duckdb.DuckDBPyConnection:
    """A connection with the lake extensions loaded: already installed, else installed from the
    package's file; DuckDB never reaches for the network."""
    con = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    extensions.load(con, tuple(EXTENSIONS))
    for key, value in (settings or {}).items():
        con.execute(f"SET {key} = {value}")
    return con


def catalog_uri(root: Path, catalog: str) -> str:
    if catalog == "sqlite":
        return f"ducklake:sqlite:{root / 'catalog.sqlite'}"
    return f"ducklake:{root / 'catalog.ducklake'}"


def attach(
    con: duckdb.DuckDBPyConnection, root: Path, layout: Layout, read_only: bool = False
) -> None:
    # OVERRIDE_DATA_PATH: a copied lake reads its own files (they are stored relative to it).
    params = [f"DATA_PATH '{root / 'data'}/'", "OVERRIDE_DATA_PATH true"]
    if layout.inlining is not None:
        params.append(f"DATA_INLINING_ROW_LIMIT {layout.inlining}")
    if read_only:
        params.append("READ_ONLY")
    con.execute(f"ATTACH '{catalog_uri(root, layout.catalog)}' AS lake ({', '.join(params)})")


def timed(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> float:
    started = time.perf_counter()
    con.execute(sql, params).fetchall()
    return time.perf_counter() - started


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> Iterator[None]:
    con.register("batch", frame.to_arrow())
    try:
        yield
    finally:
        con.unregister("batch")


def replace_days(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> None:
    """Replace the rows of `frame`'s days, as a partition write does (the caller commits)."""
    with registered(con, frame):
        con.execute(
            f"DELETE FROM lake.{TABLE} WHERE date BETWEEN ? AND ?",
            [frame["date"].min(), frame["date"].max()],
        )
        con.execute(f"INSERT INTO lake.{TABLE} SELECT * FROM batch")


def commit_days(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> float:
    started = time.perf_counter()
    con.execute("BEGIN")
    replace_days(con, frame)
    con.execute("COMMIT")
    return time.perf_counter() - started


def maintain(con: duckdb.DuckDBPyConnection, merge_below: int | None = None) -> dict[str, float]:
    """One maintenance run; `merge_below` leaves larger files out of the merge (and, since
    rewriting a large file for a few restated rows is what it avoids, out of the rewrite)."""
    merge_args = f", max_file_size => {merge_below}" if merge_below else ""
    out = {}
    for step, sql in MAINTENANCE:
        if step == "rewrite" and merge_below:
            continue
        out[step] = timed(con, sql.format(merge_args=merge_args))
    return out


def file_stats(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    files, data, deletes = con.execute(
        "SELECT count(*), sum(data_file_size_bytes), count(delete_file) "
        f"FROM ducklake_list_files('lake', '{TABLE}')"
    ).fetchone()
    return {"files": files, "bytes": int(data or 0), "delete_files": deletes}


def catalog_rows(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows in the catalog tables a query reads (a SQLite catalog is scanned whole)."""
    meta = "__ducklake_metadata_lake"
    return {
        t: con.execute(f"SELECT count(*) FROM {meta}.ducklake_{t}").fetchone()[0]
        for t in ("snapshot", "data_file", "delete_file", "file_column_stats")
    }


def build(root: Path, layout: Layout, backfill: pl.DataFrame, nights: pl.DataFrame, grain: str):
    """Create the lake, backfill it, maintain it, run the nights; returns what it cost."""
    root.mkdir(parents=True)
    if layout.catalog == "sqlite":
        # WAL: a reader inside a transaction would otherwise block every writer's commit.
        with sqlite3.connect(root / "catalog.sqlite") as db:
            db.execute("PRAGMA journal_mode=WAL")
    con = connect()
    attach(con, root, layout)
    columns = ", ".join(f"{n} {DUCKDB_TYPES[t]}" for n, t in schemas.DAILY_PRICES.items())
    con.execute(f"CREATE TABLE lake.{TABLE} ({columns})")
    if layout.partition:
        con.execute(f"ALTER TABLE lake.{TABLE} SET PARTITIONED BY ({layout.partition})")
    if layout.sorted_by:
        con.execute(f"ALTER TABLE lake.{TABLE} SET SORTED BY ({layout.sorted_by})")
    for key, value in layout.options.items():
        literal = f"'{value}'" if isinstance(value, str) else value
        con.execute(f"CALL lake.set_option('{key}', {literal}, table_name => '{TABLE}')")

    key = pl.col("date").dt.truncate("1mo") if grain == "month" else pl.col("date")
    batches = backfill.with_columns(batch=key).partition_by("batch", include_key=False)
    started = time.perf_counter()
    for batch in sorted(batches, key=lambda b: b["date"].min()):
        commit_days(con, batch)
    report: dict[str, object] = {
        "backfill_commits": len(batches),
        "backfill_s": time.perf_counter() - started,
        "after_backfill": file_stats(con),
    }
    if layout.maintain:
        report["maintenance_s"] = maintain(con)
    report["after_maintenance"] = file_stats(con)
    night_write, night_maintain = [], []
    for night in nights.partition_by("date", maintain_order=True):
        night_write.append(commit_days(con, night))
        if layout.maintain:
            night_maintain.append(sum(maintain(con, layout.nightly_merge_below).values()))
    report["night_write_s"] = statistics.median(night_write) if night_write else None
    report["night_maintenance_s"] = statistics.median(night_maintain) if night_maintain else None
    report["final"] = file_stats(con)
    report["catalog_rows"] = catalog_rows(con)
    # What each file spans: one file per year is the O(years) layout.
    report["file_spans"] = [
        con.execute(
            "SELECT min(date)::VARCHAR, max(date)::VARCHAR, count(*) FROM read_parquet(?)", [path]
        ).fetchone()
        for (path,) in con.execute(
            f"SELECT data_file FROM ducklake_list_files('lake', '{TABLE}') ORDER BY data_file"
        ).fetchall()
    ]
    con.close()
    return report


@dataclass
class Target:
    """Something the queries run on: a connection and what `prices` means on it."""

    con: duckdb.DuckDBPyConnection
    source: str

    def run(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()


def open_targets(
    roots: dict[str, Path], layouts: dict[str, Layout], ideal: Path, settings: dict[str, object]
) -> dict[str, Target]:
    targets = {"ideal": Target(connect(settings), f"read_parquet('{ideal}')")}
    for name, root in roots.items():
        con = connect(settings)
        attach(con, root, layouts[name], read_only=True)
        targets[name] = Target(con, f"lake.{TABLE}")
        files = con.execute(
            f"SELECT data_file, delete_file FROM ducklake_list_files('lake', '{TABLE}')"
        ).fetchall()
        # The same files without the catalog; only where no delete file hides rows in them.
        if not any(delete for _, delete in files):
            listed = ", ".join(f"'{data}'" for data, _ in files)
            targets[f"{name}/files"] = Target(connect(settings), f"read_parquet([{listed}])")
    for target in targets.values():
        target.con.execute(f"CREATE VIEW prices AS SELECT * FROM {target.source}")
    return targets


Medians = dict[str, dict[str, float]]


def time_queries(
    targets: dict[str, Target], sqls: dict[str, str], runs: int
) -> tuple[Medians, Medians]:
    """Median wall and CPU seconds (this process, all DuckDB threads) per target and query.
    Every round runs each query on every target in turn, so a burst of load on the shared
    machine lands on all of them; CPU time is the figure such load disturbs least."""
    for target in targets.values():
        for sql in sqls.values():
            target.run(sql)  # warm-up: page cache, plans, the lake's schema cache
    wall: dict[tuple[str, str], list[float]] = {(t, q): [] for t in targets for q in sqls}
    cpu: dict[tuple[str, str], list[float]] = {(t, q): [] for t in targets for q in sqls}
    order = list(targets)
    shuffler = random.Random(0)
    for _ in range(runs):
        for query, sql in sqls.items():
            shuffler.shuffle(order)  # no target always runs right after the same neighbour
            for name in order:
                target = targets[name]
                started = time.process_time()
                wall[name, query].append(timed(target.con, sql))
                cpu[name, query].append(time.process_time() - started)
    return tuple(  # type: ignore[return-value]
        {name: {q: statistics.median(samples[name, q]) for q in sqls} for name in targets}
        for samples in (wall, cpu)
    )


def check_same_rows(targets: dict[str, Target], sqls: dict[str, str]) -> None:
    """Every layout must answer with the same rows, or the timings compare nothing."""
    for query, sql in sqls.items():
        answers = {name: t.run(sql) for name, t in targets.items()}
        reference = answers["ideal"]
        for name, rows in answers.items():
            if query == "full_aggregate":  # float sums differ in the last bits by file order
                same = [r[:2] for r in rows] == [r[:2] for r in reference]
            else:
                same = rows == reference
            assert same, f"{name} answers {query} differently from the ideal file"


def held_transactions(
    targets: dict[str, Target], lakes: list[str], sql: str, runs: int
) -> dict[str, float]:
    """Median of `sql` on each lake repeated inside one read transaction (the snapshot is
    looked up once), interleaved with the ideal file as the main timings are."""
    chosen = {name: targets[name] for name in ("ideal", *lakes)}
    for name in lakes:
        chosen[name].con.execute("BEGIN")
    try:
        return time_queries(chosen, {"symbol_history": sql}, runs)[0]
    finally:
        for name in lakes:
            chosen[name].con.execute("COMMIT")


def planning_share(target: Target, sql: str, runs: int, profile: Path) -> dict[str, float]:
    """Median planner time (where a lake looks up its snapshot, schema, files and statistics in
    the catalog) and whole-query latency, from DuckDB's own profiler."""
    target.con.execute("SET enable_profiling = 'json'")
    target.con.execute(f"SET profiling_output = '{profile}'")
    target.con.execute("SET profiling_mode = 'detailed'")
    samples = []
    try:
        for _ in range(runs):
            target.run(sql)
            measured = json.loads(profile.read_text())
            samples.append((measured["planner"], measured["latency"]))
    finally:
        target.con.execute("RESET enable_profiling")
        target.con.execute("RESET profiling_mode")
    return {
        "planner_s": statistics.median(p for p, _ in samples),
        "latency_s": statistics.median(t for _, t in samples),
    }


COLD_START = """
import json, sys, time
started = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from ducklake_layout import LAYOUTS, attach, connect
from pathlib import Path
loaded = time.perf_counter()
con = connect()
ready = time.perf_counter()
if sys.argv[2] != "-":
    attach(con, Path(sys.argv[2]), next(l for l in LAYOUTS if l.name == sys.argv[3]), True)
attached = time.perf_counter()
con.execute(sys.argv[4]).fetchall()
done = time.perf_counter()
print(json.dumps({"import_s": loaded - started, "connect_load_s": ready - loaded,
                  "attach_s": attached - ready, "first_query_s": done - attached}))
"""


def cold_start(root: Path | None, layout: str, sql: str, runs: int) -> dict[str, float]:
    """A new process per run, as `kis-pipeline sql` is: median of each step."""
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                COLD_START,
                str(Path(__file__).parent),
                str(root or "-"),
                layout,
                sql,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        samples.append(json.loads(out.stdout))
    return {k: statistics.median(s[k] for s in samples) for k in samples[0]}


def write_costs(
    root: Path, layout: Layout, frame: pl.DataFrame, days: list[dt.date], log: Callable[[str], None]
) -> dict[str, object]:
    """Per-commit cost of one day's partition write; 100 days in 100 commits against one; and
    the maintenance that folds the restated days back in."""
    con = connect()
    attach(con, root, layout)
    by_day = {d[0]: part for d, part in frame.group_by("date", maintain_order=True)}
    out: dict[str, object] = {}
    out["day_commit_s"] = statistics.median(commit_days(con, by_day[d]) for d in days[-20:])
    hundred = days[-100:]
    started = time.perf_counter()
    for day in hundred:
        commit_days(con, by_day[day])
    out["hundred_commits_s"] = time.perf_counter() - started
    started = time.perf_counter()
    con.execute("BEGIN")
    for day in hundred:
        replace_days(con, by_day[day])
    con.execute("COMMIT")
    out["hundred_in_one_transaction_s"] = time.perf_counter() - started
    out["after_restatement"] = file_stats(con)
    out["maintenance_after_restatement_s"] = maintain(con, layout.nightly_merge_below)
    out["after_maintenance"] = file_stats(con)
    log(f"write costs ({layout.name}): {json.dumps(out, default=str)}")
    con.close()
    return out


def journal_commit_costs(
    root: Path, layout: Layout, frame: pl.DataFrame, days: list[dt.date]
) -> dict[str, float]:
    """One day's commit with the SQLite catalog in rollback-journal mode, then back in WAL."""
    out = {}
    for mode in ("DELETE", "WAL"):
        with sqlite3.connect(root / "catalog.sqlite") as db:
            db.execute(f"PRAGMA journal_mode={mode}")
        con = connect()
        attach(con, root, layout)
        by_day = {d[0]: part for d, part in frame.group_by("date", maintain_order=True)}
        out[mode.lower()] = statistics.median(commit_days(con, by_day[d]) for d in days[-20:])
        con.close()
    return out


def catalog_growth(
    root: Path, layout: Layout, sqls: dict[str, str], steps: list[int], runs: int
) -> dict[int, dict[str, float]]:
    """How a query on the table slows as the lake holds more files elsewhere: copies of the
    lake whose other table (a stand-in for unmerged tick segments) holds each of `steps`
    files, timed side by side."""
    targets = {}
    for step in steps:
        copy = root.with_name(f"{root.name}-with-{step}-files")
        shutil.copytree(root, copy)
        writer = connect()
        attach(writer, copy, layout)
        # `attach` names the copy's own data path, which overrides the one in its catalog.
        writer.execute("CREATE TABLE lake.segments (segment_id VARCHAR, seq BIGINT)")
        writer.execute("BEGIN")
        for number in range(step):
            writer.execute(
                f"INSERT INTO lake.segments SELECT 'seg-{number}', i FROM range(100) r(i)"
            )
        writer.execute("COMMIT")
        writer.close()
        reader = Target(connect(), f"lake.{TABLE}")
        attach(reader.con, copy, layout, read_only=True)
        reader.con.execute(f"CREATE VIEW prices AS SELECT * FROM {reader.source}")
        targets[step] = reader
    try:
        return time_queries({str(k): t for k, t in targets.items()}, sqls, runs)[0]
    finally:
        for target in targets.values():
            target.con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--universe", type=int, default=2700)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--nights", type=int, default=5, help="nightly appends after the backfill")
    parser.add_argument("--backfill-grain", choices=("month", "day"), default="month")
    parser.add_argument("--layouts", default=",".join(lay.name for lay in LAYOUTS))
    parser.add_argument("--root", type=Path, default=None, help="keep the lakes here")
    parser.add_argument(
        "--catalog-files",
        default="0,1000,4000",
        help="files held by another table while the table is read (catalog growth)",
    )
    args = parser.parse_args()
    layouts = {lay.name: lay for lay in LAYOUTS if lay.name in args.layouts.split(",")}

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    connect().close()  # fail early, in one line, without the extension packages
    root = args.root or Path(tempfile.mkdtemp(prefix="kis-bench-ducklake-"))
    root.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average_at_start": os.getloadavg(),
        "argv": sys.argv[1:],
        "duckdb": duckdb.__version__,
    }
    try:
        end = NOW.date()
        start = end.replace(year=end.year - args.years) + dt.timedelta(days=1)
        market = Market(SimConfig(universe=args.universe, start=start, now=NOW))
        frame = daily_prices(market.prices_frame(start, end))
        days = frame["date"].unique().sort().to_list()
        held_back = days[-args.nights :] if args.nights else []
        backfill = frame.filter(~pl.col("date").is_in(held_back))
        nights = frame.filter(pl.col("date").is_in(held_back))
        log(f"market: {frame.height:,} rows, {len(days)} sessions")

        ideal = root / "ideal.parquet"
        con = connect()
        with registered(con, frame):
            con.execute(
                f"COPY (SELECT * FROM batch ORDER BY symbol, date) TO '{ideal}' (FORMAT parquet, "
                f"COMPRESSION zstd, ROW_GROUP_SIZE {IDEAL_ROW_GROUP})"
            )
        con.close()

        roots = {name: root / name for name in layouts}
        builds = {}
        for name, layout in layouts.items():
            builds[name] = build(roots[name], layout, backfill, nights, args.backfill_grain)
            log(f"built {name}: {json.dumps(builds[name], default=str)}")
        report["builds"] = builds

        day = days[len(days) // 2]
        sqls = {**queries(day), "catalog_probe": CATALOG_PROBE}
        reads: dict[str, Medians] = {}
        reads_cpu: dict[str, Medians] = {}
        held: dict[str, dict[str, float]] = {}
        planning: dict[str, dict[str, dict[str, float]]] = {}
        for profile, settings in READER_PROFILES.items():
            targets = open_targets(roots, layouts, ideal, settings)
            check_same_rows(targets, queries(day))
            reads[profile], reads_cpu[profile] = time_queries(targets, sqls, args.runs)
            symbol_sql = queries(day)["symbol_history"]
            held[profile] = {
                name: medians["symbol_history"]
                for name, medians in held_transactions(
                    targets, list(layouts), symbol_sql, args.runs
                ).items()
            }
            planning[profile] = {
                name: planning_share(t, symbol_sql, args.runs, root / "profile.json")
                for name, t in targets.items()
            }
            for target in targets.values():
                target.con.close()
            log(f"reads ({profile}) done")
        report["reads_s"] = reads
        report["reads_cpu_s"] = reads_cpu
        report["held_transaction_symbol_s"] = held
        report["symbol_planning_s"] = planning

        symbol_sql = queries(day)["symbol_history"].replace("prices", f"lake.{TABLE}")
        cold = {
            "ideal": cold_start(
                None,
                "-",
                queries(day)["symbol_history"].replace("prices", f"read_parquet('{ideal}')"),
                args.runs,
            )
        }
        for name in (CATALOG_LAYOUT, "year-duckdb-catalog"):
            if name in layouts:
                cold[name] = cold_start(roots[name], name, symbol_sql, args.runs)
        report["cold_start_s"] = cold

        if CATALOG_LAYOUT in layouts:
            growth_sqls = {
                "symbol_history": queries(day)["symbol_history"],
                "catalog_probe": CATALOG_PROBE,
            }
            steps = [int(n) for n in args.catalog_files.split(",")]
            report["catalog_growth_s"] = catalog_growth(
                roots[CATALOG_LAYOUT], layouts[CATALOG_LAYOUT], growth_sqls, steps, args.runs
            )
            log(f"catalog growth: {report['catalog_growth_s']}")
        report["write_costs"] = {
            name: write_costs(roots[name], layouts[name], frame, days, log)
            for name in WRITE_COST_LAYOUTS
            if name in layouts
        }
        if CATALOG_LAYOUT in layouts:
            report["day_commit_by_journal_s"] = journal_commit_costs(
                roots[CATALOG_LAYOUT], layouts[CATALOG_LAYOUT], frame, days
            )
    finally:
        if args.root is None:
            shutil.rmtree(root, ignore_errors=True)

    report.update(universe=args.universe, years=args.years, rows=frame.height, runs=args.runs)
    report.update(query_day=day.isoformat(), query_symbol=SYMBOL)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ducklake_layout.json").write_text(json.dumps(report, indent=2, default=str))
    print_tables(report)
    return 0


def print_tables(report: dict) -> None:
    """The figures as Markdown tables, ready for bench/README.md."""
    queries_ = ("symbol_history", "day_cross_section", "full_aggregate")
    for profile, medians in report["reads_s"].items():
        ideal = medians["ideal"]
        held = report["held_transaction_symbol_s"][profile]
        planning = report["symbol_planning_s"][profile]
        print(f"\nreader `{profile}`: median ms (ratio to the ideal file)\n")
        print(
            "| target | " + " | ".join(queries_) + " | catalog probe | symbol, one read "
            "transaction | symbol: planner / whole (profiled) |"
        )
        print("|---" * 7 + "|")
        for name, row in medians.items():
            cpu, ideal_cpu = (
                report["reads_cpu_s"][profile][name],
                report["reads_cpu_s"][profile]["ideal"],
            )
            cells = [
                f"{row[q] * 1e3:.1f} ({row[q] / ideal[q]:.2f}x; cpu {cpu[q] / ideal_cpu[q]:.2f}x)"
                for q in queries_
            ]
            cells.append(f"{row['catalog_probe'] * 1e3:.1f}")
            cells.append(  # against the ideal file timed in the same interleaved block
                f"{held[name] * 1e3:.1f} ({held[name] / held['ideal']:.2f}x)"
                if name in held
                else "-"
            )
            share = planning[name]
            cells.append(f"{share['planner_s'] * 1e3:.1f} / {share['latency_s'] * 1e3:.1f}")
            print(f"| {name} | " + " | ".join(cells) + " |")
    print("\n| layout | commits | files after backfill | after maintenance | after the nights |")
    print("|---|---|---|---|---|")
    for name, b in report["builds"].items():
        print(
            f"| {name} | {b['backfill_commits']} | {b['after_backfill']['files']} | "
            f"{b['after_maintenance']['files']} | {b['final']['files']} |"
        )
    print("\ncold start: " + json.dumps(report["cold_start_s"], default=lambda v: round(v, 4)))
    for key in ("catalog_growth_s", "write_costs", "day_commit_by_journal_s"):
        if key in report:
            print(f"{key}: {json.dumps(report[key], default=str)}")


if __name__ == "__main__":
    sys.exit(main())
