"""What "every asset" means to `kis-pipeline backfill`: the date-partitioned assets. The
statements, stamped with the day they were fetched, cannot be fetched for a past day; the
command says so in `--help`, once in a run over every asset, and when they are named."""

from __future__ import annotations

import warnings
from pathlib import Path

import dagster as dg
import pytest

from kis_pipeline.cli.backfill_plan import snapshot_assets
from kis_pipeline.cli.main import main
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs.seed import served
from tests.test_backfill import MARKET, SNAPSHOT_ASSETS, env

__all__ = ["env"]  # the fixture: a seeded warehouse on the module's fast simulator

warnings.filterwarnings("ignore", category=dg.BetaWarning)

SPAN = ("--from", "2026-11-09", "--to", "2026-11-10")
STATEMENTS = SNAPSHOT_ASSETS


def test_help_names_what_every_asset_leaves_out(capsys: pytest.CaptureFixture[str]) -> None:
    from kis_pipeline.definitions import defs

    assert snapshot_assets(defs) == STATEMENTS
    with pytest.raises(SystemExit):
        main(["backfill", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert all(name in text for name in STATEMENTS), text
    assert "only as they stand today" in text


@pytest.mark.parametrize(
    ("assets", "message"),
    [
        (
            "daily_prices,balance_sheet",
            "error: balance_sheet cannot be backfilled: KIS serves them only as they stand today",
        ),
        (
            "warehouse_maintenance",
            "error: warehouse_maintenance has no date partitions to backfill",
        ),
    ],
)
def test_a_named_asset_a_range_cannot_hold_is_refused_before_any_call(
    env: dict[str, str],
    fast_sim: SimulatorServer,
    assets: str,
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["backfill", *SPAN, "--assets", assets]) == 1
    err = capsys.readouterr().err
    assert err.startswith(message) and len(err.strip().splitlines()) == 1, err
    assert served(fast_sim, env["KIS_APP_KEY"]) == 0


def test_a_backfill_of_every_asset_says_once_which_it_leaves_out_and_why(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    symbol = MARKET.listings[0].symbol
    assert main(["backfill", *SPAN, "--symbols", symbol]) == 0
    err = capsys.readouterr().err.splitlines()
    lines = [line for line in err if line.startswith("not in a range backfill")]
    assert lines == [
        f"not in a range backfill: {', '.join(STATEMENTS)} (KIS serves them only as they "
        "stand today, so no past day can be fetched; their weekly schedule keeps them, or "
        "materialize them in `kis-pipeline dev`)"
    ]
    # Minute bars, 4 calls per symbol-day, and the index bars are fetched only when named.
    named = [line for line in err if line.startswith("only when named")]
    assert named == [
        "only when named: index_minute_bars, minute_bars (minute bars cost 4 calls per "
        "symbol-day, about 99,000 for a year of the 100 most traded names, and KIS serves the "
        "index bars of the newest session only; name them, e.g. --assets minute_bars --symbols "
        "005930)",
        # The derived ranking screens rank a day on the prices of the sessions before it.
        "only when named: disparity_rankings, execution_strength_rankings (each day is derived "
        "from the 20 sessions of daily_prices up to it, which the backfill adds before the "
        "range where the warehouse lacks them; name them, e.g. --assets disparity_rankings)",
    ]
    assert not Warehouse(Path(env["KIS_WAREHOUSE"])).partitions("minute_bars")


def test_named_minute_bars_fetch_the_days_prices_they_need_first(
    env: dict[str, str],
    fast_sim: SimulatorServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KIS_NOW", "2026-11-20T18:00")
    symbol = MARKET.listings[0].symbol
    assert main(["backfill", *SPAN, "--assets", "minute_bars", "--symbols", symbol]) == 0
    err = capsys.readouterr().err
    assert "adding daily_prices for 2026-11-09..2026-11-10: minute_bars takes" in err, err
    wh = Warehouse(Path(env["KIS_WAREHOUSE"]))
    bars = wh.read("minute_bars")
    assert set(bars["symbol"]) == {symbol} and bars["date"].n_unique() == 2
    assert bars.height == 2 * 381
