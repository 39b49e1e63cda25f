"""The README's SQL runs: the cookbook queries and the quick-start `kis-pipeline sql` command.

They run on a warehouse written by the warehouse writer from the simulator's market model (the
same seed as the notebook test), so a renamed column or table breaks this test, not a user.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import kis_pipeline.streaming.tables  # noqa: F401  (registers stream_gaps)
from kis_pipeline.common.clock import KST
from kis_pipeline.kis.rejects import Reject
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market import Market
from kis_pipeline.warehouse import Warehouse, connect
from kis_pipeline.warehouse.rejects import write_rejects
from tests.helpers.research_data import frame_like, seed

README = Path(__file__).parents[1] / "README.md"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    wh = Warehouse(tmp_path_factory.mktemp("readme") / "wh")
    market = Market(
        SimConfig(
            universe=40, start=dt.date(2018, 1, 2), now=dt.datetime(2018, 7, 2, 18, tzinfo=KST)
        )
    )
    seed(wh, market)
    started = dt.datetime(2018, 6, 29, 9, 0, tzinfo=KST)
    wh.write_partition(
        "stream_sessions",
        "2018-06-29",
        frame_like(
            "stream_sessions",
            {
                "date": [dt.date(2018, 6, 29)],
                "session_id": ["ses-1"],
                "started_at": [started],
                "ended_at": [started + dt.timedelta(hours=6)],
                "reason": ["duration"],
                "frames": [300],
                "subscriptions": [2],
            },
        ),
    )
    # A collector killed at 10:00 and restarted, whose refill did not reach back for one symbol.
    wh.write_partition(
        "stream_gaps",
        "2018-06-29",
        frame_like(
            "stream_gaps",
            {
                "date": [dt.date(2018, 6, 29)],
                "gap_id": ["gap-1"],
                "started_at": [started + dt.timedelta(hours=1)],
                "ended_at": [started + dt.timedelta(hours=1, seconds=4)],
                "reason": ["collector_lost: the collector died without ending its session"],
                "symbols": [2],
                "rest_rows": [12],
                "rest_covered": [False],
                "rest_uncovered": ["005930"],
            },
        ),
    )
    # One bar flagged, as a jump beyond the daily limit would be.
    day = wh.partitions("daily_prices")[-1]
    bars = wh.read("daily_prices", [day])
    flagged = bars.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("price_jump")).alias("quality_flag")
    )
    wh.write_partition("daily_prices", day, flagged)
    write_rejects(
        wh,
        [
            Reject(
                received_at=started,
                endpoint="inquire-daily-itemchartprice",
                tr_id="FHKST03010100",
                table="daily_prices",
                symbol="005930",
                date=dt.date(2018, 6, 28),
                field="stck_clpr",
                reason="close is blank",
                raw='{"stck_bsop_date":"20180628","stck_clpr":""}',
            )
        ],
    )
    return wh


def sql_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```sql\n(.*?)```", text, flags=re.S)
    statements = [s.strip() for block in blocks for s in block.split(";") if s.strip()]
    assert len(statements) >= 6
    return statements


@pytest.mark.parametrize("statement", sql_blocks(), ids=lambda s: s.splitlines()[0][3:40])
def test_cookbook_query_runs_and_answers(warehouse: Warehouse, statement: str) -> None:
    with connect(warehouse) as con:
        rows = con.execute(statement).fetchall()
    assert rows, "the query ran but found nothing on a warehouse that has the data"


def test_quick_start_sql_command(warehouse: Warehouse) -> None:
    text = README.read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if "kis-pipeline sql" in x and x.startswith(".venv"))
    argv = shlex.split(line.split("kis-pipeline", 1)[1])
    result = subprocess.run(
        [sys.executable, "-m", "kis_pipeline.cli", *argv],
        capture_output=True,
        text=True,
        env={"KIS_WAREHOUSE": str(warehouse.root), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "005930" in result.stdout


def test_the_scale_out_recipe_starts_what_the_multi_host_test_starts() -> None:
    """`tests/integration/test_multi_host.py` runs the recipe of "Growing past one machine":
    the README must give the commands and variables that test uses."""
    from tests.helpers import celery_worker, daemon
    from tests.integration.test_multi_host import team_variables

    recipe = README.read_text().split("## Growing past one machine", 1)[1].split("\n## ", 1)[0]
    assert f"dagster-daemon {' '.join(daemon.ARGUMENTS)}" in recipe
    assert f"dagster-celery {' '.join(celery_worker.ARGUMENTS)} celery.yaml" in recipe
    assert "kis-pipeline backfill --from" in recipe and "--submit" in recipe
    for name in team_variables():
        assert f"{name}=" in recipe, name


def test_the_kubernetes_files_parse_and_use_only_documented_settings() -> None:
    """docs/deploy is described, not run: at least its YAML parses, and every KIS_ variable it
    sets is one the README's configuration table documents."""
    import yaml

    deploy = README.parent / "docs" / "deploy"
    for name in ("values.yaml", "workers.yaml", "dagster.yaml"):
        assert list(yaml.safe_load_all((deploy / name).read_text())), name
    configuration = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    used = set(re.findall(r"\b(KIS_[A-Z_]+)=", (deploy / "kubernetes.md").read_text()))
    assert used, "kubernetes.md sets no KIS_ variable"
    for name in sorted(used):
        assert f"`{name}`" in configuration, name
