"""Several app keys spread the watchlist over one WebSocket session each (41 registrations per
session, one session per key), and `stream_sessions` names the key of every session."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.cli.main import main
from kis_pipeline.cli.stream import run_stream
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.streaming.key_split import split_plan
from kis_pipeline.streaming.replay import replay
from kis_pipeline.streaming.session_ledger import record_segment
from kis_pipeline.streaming.spool import Spool, read_segment
from kis_pipeline.streaming.subscriptions import MAX_REGISTRATIONS, plan_feeds
from kis_pipeline.warehouse import TABLES, Warehouse
from tests.helpers.simulator import sim_environ
from tests.streaming.helpers import SegmentBuilder, stream_persisting, symbols_of

TABLE_OF = {"H0STCNT0": "trade_ticks", "H0STASP0": "orderbook_ticks"}


def two_key_settings(server: SimulatorServer, root: Path) -> tuple[KisSettings, list[str]]:
    first = sim_environ(server, root / "state")
    second = sim_environ(server, root / "state")
    keys = [first["KIS_APP_KEY"], second["KIS_APP_KEY"]]
    environ = {
        **first,
        "KIS_APP_KEYS": ",".join(keys),
        "KIS_APP_SECRETS": f"{first['KIS_APP_SECRET']},{second['KIS_APP_SECRET']}",
        "KIS_WAREHOUSE": str(root / "warehouse"),
    }
    return KisSettings.from_env(environ), keys


def test_two_keys_stream_a_watchlist_one_session_cannot_hold(
    private_sim: Callable[..., SimulatorServer], tmp_path: Path
) -> None:
    server = private_sim()
    settings, keys = two_key_settings(server, tmp_path)
    symbols = symbols_of(server, 30)  # x 2 feeds = 60 registrations: more than 41
    text = stream_persisting(settings, symbols, 1.5)
    labels = [each.key_label for each in settings.per_key()]
    assert "streaming 30 symbols (--symbols) as 60 registrations" in text
    assert f"{labels[0]} 41 registrations, {labels[1]} 19 registrations" in text

    stats = server.stats()
    sessions = stats["ws_sessions"]
    # The simulator's side: one session per key, none above the cap, every feed registered.
    assert sorted(s["app_key"] for s in sessions) == sorted(keys)
    peaks = {s["app_key"]: s["registrations_peak"] for s in sessions}
    assert peaks == {keys[0]: MAX_REGISTRATIONS, keys[1]: 60 - MAX_REGISTRATIONS}

    # Every tick of every symbol the simulator sent reached the warehouse, exactly once.
    warehouse = Warehouse(settings.warehouse)
    for tr_id, table in TABLE_OF.items():
        stored = Counter(warehouse.read(table).get_column("symbol").to_list())
        assert stored == Counter(stats["ticks"][tr_id]), tr_id
    assert set(warehouse.read("trade_ticks")["symbol"]) == set(symbols)
    assert set(warehouse.read("orderbook_ticks")["symbol"]) == set(symbols)

    rows = warehouse.read("stream_sessions")
    assert sorted(rows["key_label"].to_list()) == sorted(labels)
    assert rows["subscriptions"].sum() == 60
    for label in labels:
        # A short name that reveals neither the key nor its secret.
        assert len(label) == 12 and all(k not in label for k in keys)
        assert settings.app_secret.reveal() not in label


def test_one_key_refuses_a_watchlist_over_its_session_in_one_line(
    private_sim: Callable[..., SimulatorServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = private_sim()
    environ = sim_environ(server, tmp_path / "state", KIS_WAREHOUSE=str(tmp_path / "wh"))
    monkeypatch.delenv("KIS_SYMBOLS", raising=False)
    monkeypatch.delenv("KIS_APP_KEYS", raising=False)
    monkeypatch.delenv("KIS_APP_SECRETS", raising=False)
    monkeypatch.chdir(tmp_path)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    symbols = ",".join(symbols_of(server, 25))  # x 2 feeds = 50 registrations
    assert main(["stream", "--symbols", symbols, "--duration", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("error: the watchlist needs 50 WebSocket registrations"), err
    assert "1 app key allow 41" in err and "it needs 2 app keys" in err, err
    stats = server.stats()
    assert stats["ws_sessions_opened"] == {} and stats["approval_keys_issued"] == {}


def test_the_split_fills_each_key_in_order_and_keeps_what_is_left_out_last() -> None:
    symbols = [f"{n:06d}" for n in range(50)]
    plan = plan_feeds(symbols, ("H0STCNT0", "H0STASP0"), budget=3 * MAX_REGISTRATIONS)
    shares = split_plan(plan, MAX_REGISTRATIONS)
    assert [len(s.feeds) for s in shares] == [41, 41, 18]
    assert [f for s in shares for f in s.feeds] == list(plan.feeds)
    assert [len(s.over_budget) for s in shares] == [0, 0, 0]
    one = split_plan(plan_feeds(symbols[:3]), MAX_REGISTRATIONS)
    assert len(one) == 1 and len(one[0].feeds) == 6


def test_a_warehouse_from_before_key_labels_keeps_its_sessions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stream_sessions written without `key_label` gain it on the next write: the old rows
    read it as null, the new ones name their key."""
    warehouse = Warehouse(tmp_path / "warehouse")
    spool = Spool.for_warehouse(warehouse.root)
    spec = TABLES["stream_sessions"]
    old = pl.Schema({k: v for k, v in spec.schema.items() if k != "key_label"})
    day = dt.date(2023, 6, 12)
    monkeypatch.setitem(TABLES, "stream_sessions", dataclasses.replace(spec, schema=old))
    warehouse.write_partition(
        "stream_sessions",
        "2023-06-11",
        pl.DataFrame(
            {
                "date": [day - dt.timedelta(days=1)],
                "session_id": ["ses-old"],
                "started_at": [dt.datetime(2023, 6, 11, 9, tzinfo=dt.UTC)],
                "ended_at": [None],
                "reason": [None],
                "frames": [1],
                "subscriptions": [1],
            },
            schema=old,
        ),
    )
    monkeypatch.setitem(TABLES, "stream_sessions", spec)
    segment = SegmentBuilder(spool, "seg-new")
    segment.control({"type": "session_start", "session_id": "ses-new", "started_ns": segment.ns})
    path = segment.write()
    replayed = replay(read_segment(path))
    replayed.header["key_id"] = "0123456789abcdef0123"  # as the collector's writer names it
    record_segment(warehouse, spool, "seg-new", replayed)
    rows = warehouse.read("stream_sessions").sort("session_id")
    assert rows.select("session_id", "key_label").rows() == [
        ("ses-new", "key-01234567"),
        ("ses-old", None),
    ]


def test_a_key_whose_session_is_taken_stops_every_collector_in_one_line(
    private_sim: Callable[..., SimulatorServer],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = private_sim()
    settings, keys = two_key_settings(server, tmp_path)
    # Another session (another host, say) already holds the second key's only session.
    assert server.state.open_ws_session(keys[1])
    lines: list[str] = []
    status = run_stream(
        settings, duration=30, symbols=symbols_of(server, 30), persist=True, echo=lines.append
    )
    assert status == 1
    labels = [each.key_label for each in settings.per_key()]
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"error: app key {labels[1]}: KIS refused the WebSocket session"), err
    sessions = server.stats()["ws_sessions"]
    # The first key's collector was stopped and closed its session instead of streaming on.
    assert [s["app_key"] for s in sessions] == [keys[0]]
    assert sessions[0]["closed_at"] is not None
    warehouse = Warehouse(settings.warehouse)
    rows = dict(warehouse.read("stream_sessions").select("key_label", "reason").rows())
    assert rows[labels[0]] == "stopped: another app key's collector failed"
    assert rows[labels[1]].startswith("app_key_in_use: OPSP8996")
