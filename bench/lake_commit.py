"""Per-commit cost of the lake: what one catalog transaction costs, and what batching buys.

Writes `daily_prices` partitions through `Warehouse` on a local lake (SQLite catalog) and
reports, in one run:

- one small partition per commit (3 rows: DuckLake keeps them in the catalog, no file);
- one full partition per commit (`--symbols` rows: a Parquet file each);
- the same `--days` full partitions as ONE commit (`write_partitions`, as a backfill run writes);

with the milliseconds per commit and per partition, and the ratio separate/batched.

    .venv/bin/python bench/lake_commit.py [--days 100] [--symbols 2700] [--repeat 30]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.warehouse import Warehouse

RESULTS = Path(__file__).parent / "results"
TABLE = "daily_prices"
FIRST = dt.date(2020, 1, 1)


def bars(day: dt.date, symbols: int) -> pl.DataFrame:
    """`symbols` bars of one day in the `daily_prices` schema (values do not matter here)."""
    price = pl.int_range(symbols, dtype=pl.Int64)
    constants = {"volume": 1000, "value": 100_000, "change": 0, "venue": "KRX"}
    return (
        pl.select(symbol=price.cast(pl.String).str.zfill(6))
        .with_columns(date=pl.lit(day), open=price, high=price, low=price, close=price)
        .with_columns(pl.lit(v).alias(k) for k, v in constants.items())
        .with_columns(
            ex_rights_code=pl.lit("00"),
            split_ratio=pl.lit(0.0),
            revaluation_reason=pl.lit(""),
            is_modified=pl.lit(False),
            quality_flag=pl.lit(None, pl.String),
        )
        .select(list(schemas.DAILY_PRICES))
        .cast(dict(schemas.DAILY_PRICES))
    )


def per_commit(wh: Warehouse, frames: dict[str, pl.DataFrame]) -> list[float]:
    samples = []
    for key, frame in frames.items():
        started = time.perf_counter()
        wh.write_partition(TABLE, key, frame)
        samples.append(time.perf_counter() - started)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--symbols", type=int, default=2700)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    days = [FIRST + dt.timedelta(days=n) for n in range(args.days)]
    with tempfile.TemporaryDirectory(prefix="kis-bench-commit-") as tmp:
        root = Path(tmp)
        small_wh = Warehouse(root / "small")
        small_wh.write_partition(TABLE, FIRST.isoformat(), bars(FIRST, 3))  # create the table
        small = per_commit(
            small_wh,
            {d.isoformat(): bars(d, 3) for d in days[1 : args.repeat + 1]},
        )
        full = {d.isoformat(): bars(d, args.symbols) for d in days}
        separate_wh = Warehouse(root / "separate")
        separate_wh.write_partition(TABLE, FIRST.isoformat(), bars(FIRST, 3))
        started = time.perf_counter()
        separate = per_commit(separate_wh, full)
        separate_s = time.perf_counter() - started
        batched_wh = Warehouse(root / "batched")
        batched_wh.write_partition(TABLE, FIRST.isoformat(), bars(FIRST, 3))
        started = time.perf_counter()
        batched_wh.write_partitions(TABLE, full)
        batched_s = time.perf_counter() - started
    report = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "duckdb": duckdb.__version__,
        "days": args.days,
        "symbols": args.symbols,
        "small_commit_ms": round(statistics.median(small) * 1e3, 1),
        "full_commit_ms": round(statistics.median(separate) * 1e3, 1),
        "separate_total_s": round(separate_s, 2),
        "batched_total_s": round(batched_s, 2),
        "batched_ms_per_partition": round(batched_s / args.days * 1e3, 1),
        "separate_over_batched": round(separate_s / batched_s, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "lake_commit.json").write_text(json.dumps(report, indent=2))
    print(
        f"one commit, 3 rows (inlined): {report['small_commit_ms']} ms; one commit, "
        f"{args.symbols:,} rows (a file): {report['full_commit_ms']} ms\n"
        f"{args.days} partitions: {separate_s:.2f} s as {args.days} commits, {batched_s:.2f} s as "
        f"one ({report['batched_ms_per_partition']} ms a partition): "
        f"{report['separate_over_batched']}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
