"""`symbols` against the simulator's master files: only the newest session can be captured
(the files describe today's listing), `KIS_SYMBOLS` restricts it, closed days cost nothing."""

from __future__ import annotations

import datetime as dt

import polars as pl

from kis_pipeline.defs.universe import symbols
from kis_pipeline.lib.run_context import SYMBOLS_TAG
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from tests.defs.seed import (
    check_evaluations,
    materialization_metadata,
    run_assets,
    seed_calendar,
    use_simulator,
)

LATEST = "2026-11-20"  # the simulator's last completed session (its clock is fixed)


def test_latest_session_snapshot_equals_the_listings(
    sim_server: SimulatorServer, market: Market, tmp_path, monkeypatch
) -> None:
    wh = use_simulator(monkeypatch, sim_server, tmp_path)
    result = run_assets([symbols], partition_key=LATEST)
    meta = materialization_metadata(result, "symbols")
    assert meta["captured"] is True
    assert all(e.passed for e in check_evaluations(result).values())

    frame = wh.read("symbols", [LATEST])
    truth = {x.symbol: x for x in market.listings}
    assert sorted(frame["symbol"].to_list()) == sorted(truth)
    for row in frame.iter_rows(named=True):
        listing = truth[row["symbol"]]
        assert row["date"] == dt.date(2026, 11, 20)
        assert (row["name"], row["market"], row["list_date"], row["par_value"]) == (
            listing.name,
            listing.market,
            listing.list_date,
            listing.par_value,
        )
        # The master file counts listed shares in thousands.
        assert abs(row["listed_shares"] - listing.listed_shares) < 1_000

    # Rerunning replaces the snapshot with the same rows.
    run_assets([symbols], partition_key=LATEST)
    assert wh.read("symbols").equals(frame)
    assert len(wh.partitions("symbols")) == 1


def test_kis_symbols_restricts_the_snapshot(
    sim_server: SimulatorServer, tmp_path, monkeypatch
) -> None:
    wh = use_simulator(monkeypatch, sim_server, tmp_path, KIS_SYMBOLS="005930,000660,999999")
    result = run_assets([symbols], partition_key=LATEST, raise_on_error=False)
    assert wh.read("symbols")["symbol"].sort().to_list() == ["000660", "005930"]
    complete = check_evaluations(result)["symbols_complete"]
    assert not complete.passed
    assert complete.metadata["offending"].value == ["999999"]


def test_past_partitions_capture_nothing(
    sim_server: SimulatorServer, tmp_path, monkeypatch
) -> None:
    wh = use_simulator(monkeypatch, sim_server, tmp_path)
    result = run_assets([symbols], partition_key="2026-11-19")
    meta = materialization_metadata(result, "symbols")
    assert meta["captured"] is False
    assert "before the newest session 2026-11-20" in meta["reason"]
    assert wh.partitions("symbols") == []


def test_closed_days_make_no_calls(
    sim_server: SimulatorServer, market: Market, tmp_path, monkeypatch
) -> None:
    wh = use_simulator(monkeypatch, sim_server, tmp_path)
    seed_calendar(wh, market, years=[2026])
    result = run_assets([symbols], partition_key="2026-09-24")  # Chuseok
    meta = materialization_metadata(result, "symbols")
    assert meta["calls"] == 0 and meta["captured"] is False
    assert wh.read("symbols").height == 0
    assert pl.DataFrame(wh.partitions("symbols")).is_empty()


def test_a_run_for_some_symbols_replaces_only_theirs(
    sim_server: SimulatorServer, tmp_path, monkeypatch
) -> None:
    wh = use_simulator(monkeypatch, sim_server, tmp_path)
    run_assets([symbols], partition_key=LATEST)
    before = wh.read("symbols")
    run_assets([symbols], partition_key=LATEST, tags={SYMBOLS_TAG: "005930"})
    assert wh.read("symbols").equals(before)
