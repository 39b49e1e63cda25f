"""A backfill under injected faults (gateway 500s, EGW00201 bursts, slow answers, cut-off
bodies; and, in the slow variant, tokens that expire mid-run) ends with a warehouse identical
to a fault-free run's: retries change the cost, never the data.

The token store issues at most one token a minute (KIS's rule, SPEC §5), so a run that
outlives its token waits for that minute: the expiring-token variant is marked slow.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from kis_pipeline.cli.main import main
from kis_pipeline.simulator.config import FaultSpec
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import TABLES, Warehouse
from tests.defs.seed import fast_config, fast_environ, seed
from tests.helpers.simulator import SIM_CONFIG, sim_environ

warnings.filterwarnings("ignore", category=dg.BetaWarning)

CONFIG = fast_config(SIM_CONFIG)
FAULTS = FaultSpec(
    http500=0.08,
    egw00201=0.05,
    egw00201_burst=2,
    timeout=0.05,
    timeout_s=0.2,
    truncated=0.05,
)
TABLES_WRITTEN = ("daily_prices", "daily_prices_adjusted", "overseas_daily_prices")
ARGS = [
    "backfill",
    "--from",
    "2023-08-21",
    "--to",
    "2023-09-15",
    "--assets",
    ",".join(TABLES_WRITTEN),
]


def run_backfill(
    config: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> tuple[Warehouse, str]:
    market = Market(CONFIG)
    symbols = [market.listings[i].symbol for i in (0, 2, 47)]
    with SimulatorServer(config) as server:  # type: ignore[arg-type]
        env = fast_environ(
            sim_environ(server, tmp_path / f"{name}-state", KIS_WAREHOUSE=str(tmp_path / name))
        )
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        wh = Warehouse(tmp_path / name)
        seed(wh, market)
        code = main([*ARGS, "--symbols", ",".join(symbols)])
        assert code == 0
    return wh, env["KIS_APP_KEY"]


FAST = {"faults": FAULTS}
EXPIRING_TOKENS = {"faults": FAULTS, "token_lifetime_s": 2.0, "token_issue_interval_s": 0.2}


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param(FAST, id="faults"),
        pytest.param(EXPIRING_TOKENS, id="faults+expiring-tokens", marks=pytest.mark.slow),
    ],
)
def test_faults_change_the_cost_not_the_data(
    changes: dict[str, object],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("KIS_SYMBOLS", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    clean, _ = run_backfill(CONFIG, tmp_path, monkeypatch, "clean")
    capsys.readouterr()
    faulty_config = dataclasses.replace(CONFIG, **changes)  # type: ignore[arg-type]
    faulty, _ = run_backfill(faulty_config, tmp_path, monkeypatch, "faulty")
    summary = capsys.readouterr().out
    retries = int(summary.split(" retries")[0].rsplit(", ", 1)[-1])
    assert retries > 0, summary

    for table in TABLES_WRITTEN:
        sort = list(TABLES[table].sort)
        expected = clean.read(table).sort(sort)
        got = faulty.read(table).sort(sort)
        assert expected.height > 0
        assert got.equals(expected), table
        assert faulty.partitions(table) == clean.partitions(table)
        assert len(faulty.partitions(table)) == len(clean.partitions(table))
    assert not pl.concat([faulty.read(t).select("date") for t in TABLES_WRITTEN]).is_empty()
