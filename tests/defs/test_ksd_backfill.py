"""A backfill that builds `corporate_actions` fetches every year of each KSD schedule it reads
(bonus issues, capital reductions, rights issues, mergers) once, whatever its range: an action
after the range still changes the range's adjusted prices. A second run with `--missing`
fetches none of them again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.cli.main import main
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG, own_simulator

server, market = own_simulator(seed.fast_config(SIM_CONFIG))
SCHEDULES = ("bonus_issues", "capital_reductions", "rights_issues", "mergers")
# The model's actions of those schedules: (symbol, ex_date, ratio) by kind.
ACTIONS = {
    "bonus_issue": [("071620", dt.date(2025, 4, 15), 2.0), ("330790", dt.date(2026, 2, 10), 1.5)],
    "capital_reduction": [("149240", dt.date(2025, 9, 22), 0.1)],
    "rights_issue": [("388290", dt.date(2025, 6, 17), 1.3)],
    "merger": [("400790", dt.date(2025, 11, 3), 0.4)],
}


def test_a_backfill_of_the_actions_fetches_every_year_of_each_schedule_once(
    server: SimulatorServer,
    market: Market,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed.point_at(server, tmp_path / "wh", tmp_path / "state", monkeypatch)
    monkeypatch.chdir(tmp_path)
    seed.seed(Warehouse(tmp_path / "wh"), market)
    span = ["--from", "2024-03-04", "--to", "2024-03-08"]
    assert main(["backfill", *span, "--assets", "corporate_actions"]) == 0
    err = capsys.readouterr().err
    for table in SCHEDULES:
        assert f"adding {table} for 2015..{dt.date.today().year}" in err, err
    actions = Warehouse(tmp_path / "wh").read("corporate_actions")
    for kind, expected in ACTIONS.items():
        rows = actions.filter(pl.col("kind") == kind).select("symbol", "ex_date", "ratio").rows()
        assert rows == expected, kind
    assert main(["backfill", *span, "--assets", "corporate_actions", "--missing"]) == 0
    err = capsys.readouterr().err
    assert not any(f"adding {table}" in err for table in SCHEDULES), err
