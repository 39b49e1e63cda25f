"""DuckDB layout benchmark: what lake maintenance buys, and how far the lake is from ideal.

Writes 10 years x 2,700 symbols of daily prices straight from the simulator's market model
(`Market.prices_frame`, not through the API) into a warehouse, one `daily_prices` partition
per day, as the nightly pipeline leaves it. Then, in one run, times the same three queries on
layouts of the same rows:

- daily: the lake as the daily writes leave it (a file per day), queried through the lake;
- compacted: the lake after `warehouse_maintenance` (`maintenance.maintain`: one file per
  year, sorted by the table's layout), queried through the lake;
- ideal: one file of the whole table sorted by (symbol, date);
- what-if: the maintained lake's files rewritten with `--row-group` rows per group, read as
  plain Parquet (no catalog), to separate the catalog's cost from the files'.

Queries: one symbol's history, one day's cross-section, a full-table aggregate. Each is run
once to warm up, then `--runs` times; the median is reported, with the ratios daily/compacted
(what maintenance buys) and compacted/ideal (how far from ideal).

    .venv/bin/python bench/duckdb_layout.py [--universe 2700] [--years 10] [--runs 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import sys
import tempfile
import time
import zoneinfo
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market import Market
from kis_pipeline.warehouse import Warehouse, connect
from kis_pipeline.warehouse.maintenance import maintain

RESULTS = Path(__file__).parent / "results"
KST = zoneinfo.ZoneInfo("Asia/Seoul")
# A fixed clock keeps the data set, and so the figures, reproducible.
NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=KST)
TABLE = "daily_prices"
SYMBOL = "005930"


def daily_prices(frame: pl.DataFrame) -> pl.DataFrame:
    """The market's raw bars in the `daily_prices` schema (`change` against the previous
    close; no corporate-action or quality flags: the queries do not read them)."""
    return (
        frame.sort("symbol", "date")
        .with_columns(
            change=pl.col("close") - pl.col("close").shift(1).over("symbol"),
            venue=pl.lit("KRX"),
            ex_rights_code=pl.lit("00"),
            split_ratio=pl.lit(0.0),
            revaluation_reason=pl.lit(""),
            is_modified=pl.lit(False),
            quality_flag=pl.lit(None, dtype=pl.String),
        )
        .select(list(schemas.DAILY_PRICES))
        .cast(dict(schemas.DAILY_PRICES))
    )


def write_daily(wh: Warehouse, frame: pl.DataFrame) -> tuple[int, float]:
    """One partition per day through the warehouse; returns (partitions, seconds)."""
    started = time.perf_counter()
    parts = frame.partition_by("date", as_dict=True)
    for (day,), part in sorted(parts.items()):
        wh.write_partition(TABLE, day.isoformat(), part)
    return len(parts), time.perf_counter() - started


def queries(day: dt.date) -> dict[str, str]:
    return {
        "symbol_history": (
            f"SELECT date, open, high, low, close, volume FROM prices "
            f"WHERE symbol = '{SYMBOL}' ORDER BY date"
        ),
        "day_cross_section": (
            f"SELECT symbol, close, volume, value FROM prices WHERE date = DATE '{day}' "
            "ORDER BY symbol"
        ),
        "full_aggregate": (
            "SELECT symbol, count(*), avg(close), max(high), min(low), sum(value) "
            "FROM prices GROUP BY symbol ORDER BY symbol"
        ),
    }


Source = list[Path] | Warehouse


def open_prices(source: Source) -> duckdb.DuckDBPyConnection:
    """A fresh connection (no cached footers) with `prices` over the files or the lake."""
    if isinstance(source, Warehouse):
        con = connect(source)
        con.execute(f"CREATE TEMP VIEW prices AS SELECT * FROM lake.{TABLE}")
        return con
    listed = ", ".join(f"'{f}'" for f in source)
    con = duckdb.connect(":memory:")
    con.execute(f"CREATE VIEW prices AS SELECT * FROM read_parquet([{listed}])")
    return con


def time_queries(source: Source, day: dt.date, runs: int) -> dict[str, float]:
    """Median seconds of each query over `source`, on a fresh connection."""
    con = open_prices(source)
    try:
        out: dict[str, float] = {}
        for name, sql in queries(day).items():
            con.execute(sql).fetchall()  # warm-up: page cache and plan
            samples = []
            for _ in range(runs):
                started = time.perf_counter()
                con.execute(sql).fetchall()
                samples.append(time.perf_counter() - started)
            out[name] = statistics.median(samples)
        return out
    finally:
        con.close()


def row_counts(source: Source, day: dt.date) -> dict[str, int]:
    """Rows each query returns, to prove the layouts hold the same data."""
    con = open_prices(source)
    try:
        return {name: len(con.execute(sql).fetchall()) for name, sql in queries(day).items()}
    finally:
        con.close()


def lake_files(wh: Warehouse) -> list[Path]:
    frame = wh.query(f"SELECT data_file FROM ducklake_list_files('lake', '{TABLE}')")
    return [Path(f) for f in frame["data_file"].to_list()]


def measure(
    label: str, source: Source, day: dt.date, runs: int, log: Callable[[str], None]
) -> dict[str, object]:
    files = lake_files(source) if isinstance(source, Warehouse) else source
    size = sum(f.stat().st_size for f in files)
    log(f"{label}: {len(files)} files, {size / 1e6:.0f} MB")
    return {
        "files": len(files),
        "bytes": size,
        "rows_returned": row_counts(source, day),
        "median_s": time_queries(source, day, runs),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--universe", type=int, default=2700)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--root", type=Path, default=None, help="keep the warehouse here")
    parser.add_argument(
        "--row-group", type=int, default=16_384, help="rows per row group of the what-if layout"
    )
    args = parser.parse_args()

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    root = args.root or Path(tempfile.mkdtemp(prefix="kis-bench-layout-"))
    try:
        end = NOW.date()
        start = end.replace(year=end.year - args.years) + dt.timedelta(days=1)
        started = time.perf_counter()
        market = Market(SimConfig(universe=args.universe, start=start, now=NOW))
        frame = daily_prices(market.prices_frame(start, end))
        log(f"market: {frame.height:,} rows in {time.perf_counter() - started:.1f} s")
        wh = Warehouse(root / "wh")
        partitions, write_s = write_daily(wh, frame)
        log(f"daily layout: {partitions} partitions written in {write_s:.1f} s")
        # A mid-history session: in a compacted month for the compacted layout.
        day = frame["date"].unique().sort()[frame["date"].n_unique() // 2]

        results: dict[str, dict[str, object]] = {}
        results["daily"] = measure("daily", wh, day, args.runs, log)

        started = time.perf_counter()
        compacted = maintain(wh)
        compact_s = time.perf_counter() - started
        log(
            f"maintenance: {compacted.files_before.get(TABLE)} -> "
            f"{compacted.files_after.get(TABLE)} files, {compact_s:.1f} s"
        )
        results["compacted"] = measure("compacted", wh, day, args.runs, log)

        what_if = []
        for number, path in enumerate(lake_files(wh)):
            target = root / "what-if" / f"part-{number:04d}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            pl.read_parquet(path).write_parquet(
                target, compression="zstd", statistics=True, row_group_size=args.row_group
            )
            what_if.append(target)
        results["what_if"] = measure(
            f"what-if ({args.row_group:,}-row groups)", what_if, day, args.runs, log
        )

        ideal = root / "ideal.parquet"
        frame.sort("symbol", "date").write_parquet(ideal, compression="zstd", statistics=True)
        results["ideal"] = measure("ideal", [ideal], day, args.runs, log)
    finally:
        if args.root is None:
            shutil.rmtree(root, ignore_errors=True)

    counts = {layout: r["rows_returned"] for layout, r in results.items()}
    assert len({json.dumps(c, sort_keys=True) for c in counts.values()}) == 1, counts
    medians = {layout: r["median_s"] for layout, r in results.items()}
    ratios = {
        query: {
            "daily_over_compacted": round(medians["daily"][query] / medians["compacted"][query], 2),
            "compacted_over_ideal": round(medians["compacted"][query] / medians["ideal"][query], 2),
            "what_if_over_ideal": round(medians["what_if"][query] / medians["ideal"][query], 2),
        }
        for query in queries(day)
    }
    report = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "universe": args.universe,
        "years": args.years,
        "rows": frame.height,
        "partitions": partitions,
        "write_daily_s": round(write_s, 1),
        "compact_s": round(compact_s, 1),
        "query_day": day.isoformat(),
        "query_symbol": SYMBOL,
        "runs": args.runs,
        "duckdb": duckdb.__version__,
        "layouts": results,
        "what_if_row_group": args.row_group,
        "ratios": ratios,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "duckdb_layout.json").write_text(json.dumps(report, indent=2, default=str))

    print(
        f"{'query':<18} {'daily ms':>9} {'compacted ms':>13} {'what-if ms':>11} {'ideal ms':>9} "
        f"{'daily/compacted':>16} {'compacted/ideal':>16} {'what-if/ideal':>14}"
    )
    for query in queries(day):
        print(
            f"{query:<18} {medians['daily'][query] * 1e3:>9.1f} "
            f"{medians['compacted'][query] * 1e3:>13.1f} "
            f"{medians['what_if'][query] * 1e3:>11.1f} {medians['ideal'][query] * 1e3:>9.1f} "
            f"{ratios[query]['daily_over_compacted']:>16.2f} "
            f"{ratios[query]['compacted_over_ideal']:>16.2f} "
            f"{ratios[query]['what_if_over_ideal']:>14.2f}"
        )
    files = {layout: r["files"] for layout, r in results.items()}
    print(
        f"files: {files}; rows: {frame.height:,}; written daily in {write_s:.1f} s, "
        f"compacted in {compact_s:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
