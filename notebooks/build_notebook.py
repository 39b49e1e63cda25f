"""Writes research.ipynb from the cells below, so the notebook's source stays reviewable.

.venv/bin/python notebooks/build_notebook.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS: list[tuple[str, str]] = [
    (
        "md",
        """# kis-pipeline research notebook

Opens the warehouse **read-only** through its DuckDB catalog (`kis.duckdb`, one view per table)
and works with polars frames. Nothing here writes, so the pipeline can keep running while this
is open. Point it at any warehouse with `KIS_WAREHOUSE` (default: `../warehouse`).""",
    ),
    (
        "code",
        """import os
from pathlib import Path

import duckdb
import matplotlib.pyplot as plt
import polars as pl

root = Path(os.environ.get("KIS_WAREHOUSE", "../warehouse")).resolve()
con = duckdb.connect(str(root / "kis.duckdb"), read_only=True)
views = "select view_name from duckdb_views() where not internal"
tables = set(con.sql(views).pl()["view_name"])


def q(sql: str) -> pl.DataFrame:
    return con.sql(sql).pl()


def has(table: str) -> bool:
    return table in tables and q(f"select count(*) as n from {table}")["n"][0] > 0


print(f"warehouse {root}: {len(tables)} views")
q(views + " order by 1")""",
    ),
    ("md", "## Raw and adjusted prices across a split"),
    (
        "code",
        """if has("daily_prices_adjusted") and has("daily_prices"):
    # The symbol whose adj_factor moves the most has a corporate action in range.
    pick = q(\"\"\"
        select symbol, max(adj_factor) / min(adj_factor) as jump
        from daily_prices_adjusted group by symbol order by jump desc, symbol limit 1\"\"\")
    symbol = pick["symbol"][0]
    series = q(f\"\"\"
        select p.date, p.close as raw_close, a.close as adjusted_close
        from daily_prices p join daily_prices_adjusted a using (date, symbol)
        where symbol = '{symbol}' order by date\"\"\")
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(series["date"], series["raw_close"], label="raw close")
    ax.plot(series["date"], series["adjusted_close"], label="adjusted close")
    # Log scale: a 1:50 split is a cliff in the raw series and nothing in the adjusted one.
    ax.set_yscale("log")
    ax.set_ylabel("KRW (log scale)")
    ax.set_title(f"{symbol}: raw vs adjusted (adj_factor range x{pick['jump'][0]:.1f})")
    ax.legend()
    plt.show()
else:
    print("daily_prices / daily_prices_adjusted are empty: run `kis-pipeline backfill` first")""",
    ),
    ("md", "## Cumulative net buying by investor type"),
    (
        "code",
        """if has("investor_flows"):
    top = q(\"\"\"
        select symbol from investor_flows
        group by symbol order by sum(abs(foreign_net_value)) desc limit 1\"\"\")
    symbol = top["symbol"][0]
    flows = q(f\"\"\"
        select date,
               sum(individual_net_value) over w / 1e8 as individual,
               sum(foreign_net_value) over w / 1e8 as foreign_,
               sum(institution_net_value) over w / 1e8 as institution
        from investor_flows where symbol = '{symbol}'
        window w as (order by date rows unbounded preceding) order by date\"\"\")
    fig, ax = plt.subplots(figsize=(10, 4))
    for column in ("individual", "foreign_", "institution"):
        ax.plot(flows["date"], flows[column], label=column.rstrip("_"))
    ax.set_title(f"{symbol}: cumulative net buying (KRW 100 million)")
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.legend()
    plt.show()
else:
    print("investor_flows is empty: run `kis-pipeline backfill --assets investor_flows` first")""",
    ),
    ("md", "## Volume ranking over time"),
    (
        "code",
        """if has("rankings"):
    ranks = q(\"\"\"
        select date, symbol, rank from rankings
        where ranking = 'volume' and symbol in (
            select symbol from rankings where ranking = 'volume' and rank <= 5
            group by symbol order by count(*) desc limit 5)
        order by date\"\"\")
    fig, ax = plt.subplots(figsize=(10, 4))
    for symbol, part in ranks.group_by("symbol", maintain_order=True):
        ax.plot(part["date"], part["rank"], marker=".", label=symbol[0])
    ax.invert_yaxis()
    ax.set_ylabel("rank by volume")
    ax.legend(ncol=5, loc="upper center", bbox_to_anchor=(0.5, -0.08), frameon=False)
    plt.show()
else:
    print("rankings is empty: run `kis-pipeline backfill --assets rankings` first")""",
    ),
    ("md", "## Intraday ticks with VWAP"),
    (
        "code",
        """if has("trade_ticks"):
    busiest = q("select date, symbol from trade_ticks group by all order by count(*) desc limit 1")
    day, symbol = busiest["date"][0], busiest["symbol"][0]
    ticks = q(f\"\"\"
        select ts, price,
               sum(price * volume) over w / sum(volume) over w as vwap
        from trade_ticks where symbol = '{symbol}' and date = '{day}'
        window w as (order by ts, seq, record rows unbounded preceding) order by ts\"\"\")
    # Plot exchange-local wall-clock time (KST), not UTC.
    ticks = ticks.with_columns(
        pl.col("ts").dt.convert_time_zone("Asia/Seoul").dt.replace_time_zone(None)
    )
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(ticks["ts"], ticks["price"], linewidth=0.6, label="trade price")
    ax.plot(ticks["ts"], ticks["vwap"], label="VWAP")
    ax.set_title(f"{symbol} on {day}: {ticks.height} trades")
    ax.legend()
    plt.show()
else:
    print("trade_ticks is empty: run `kis-pipeline stream --duration 30 --persist` first")""",
    ),
    ("code", "con.close()"),
]


def build() -> nbformat.NotebookNode:
    cells = [new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in CELLS]
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return notebook


if __name__ == "__main__":
    target = Path(__file__).with_name("research.ipynb")
    nbformat.write(build(), target)
    print(f"wrote {target}")
