"""The collector against the simulator (whose own counts are the truth) and small fake servers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import polars as pl
import pytest
import websockets
from websockets.asyncio.server import ServerConnection, serve

from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.kis.ws.crypto import encrypt_payload
from kis_pipeline.simulator.config import FaultSpec
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.streaming.errors import CollectorBusy, SessionRefused
from kis_pipeline.streaming.locks import collector_locks
from kis_pipeline.streaming.runner import StreamOptions, stream
from kis_pipeline.streaming.spool import Spool
from kis_pipeline.streaming.tables import TICK_TABLE_NAMES
from kis_pipeline.warehouse import Warehouse
from tests.helpers.simulator import sim_environ
from tests.streaming.helpers import (
    collector_for,
    fake_collector,
    frame,
    persist_all,
    run_collector,
    settings_for,
    spool_records,
    symbols_of,
    trade,
)

ALL_TRS = ("H0STCNT0", "H0STASP0", "H0STANC0", "H0STMKO0")
TABLE_OF = {
    "H0STCNT0": "trade_ticks",
    "H0STASP0": "orderbook_ticks",
    "H0STANC0": "expected_ticks",
    "H0STMKO0": "market_status",
}


def warehouse_counts(warehouse: Warehouse) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = {}
    for tr_id, table in TABLE_OF.items():
        if table in warehouse.tables():
            symbols = warehouse.read(table).get_column("symbol").to_list()
            out[tr_id] = Counter(symbols)
    return out


def test_every_tick_the_simulator_sent_is_in_the_warehouse_exactly_once(
    private_sim: Callable[..., object], tmp_path: Path
) -> None:
    server = private_sim(tick_rate=4000)
    settings = settings_for(server, tmp_path)  # type: ignore[arg-type]
    symbols = symbols_of(server, 5)
    summary = run_collector(collector_for(settings, symbols, ALL_TRS), 2.0)
    sent = server.stats()["ticks"]  # type: ignore[attr-defined]
    assert summary.sessions == 1 and summary.problems == []
    assert summary.records == sum(sum(per.values()) for per in sent.values()) > 1000
    warehouse = persist_all(settings)
    assert warehouse_counts(warehouse) == {tr: Counter(per) for tr, per in sent.items()}
    assert "stream_rejects" not in warehouse.tables()
    # Per symbol, cumulative volume grows by each tick's own volume: no tick lost or doubled.
    trades = warehouse.read("trade_ticks").sort("symbol", "cum_volume")
    steps = trades.with_columns(
        (pl.col("cum_volume") - pl.col("cum_volume").shift(1).over("symbol")).alias("step")
    ).filter(pl.col("step").is_not_null())
    assert (steps["step"] == steps["volume"]).all()
    sessions = warehouse.read("stream_sessions")
    assert sessions.height == 1
    row = sessions.row(0, named=True)
    assert row["reason"] == "stopped: duration" and row["subscriptions"] == 20
    assert row["frames"] == summary.frames


def test_drops_are_recorded_subscriptions_restored_and_nothing_received_lost(
    private_sim: Callable[..., object], tmp_path: Path
) -> None:
    server = private_sim(tick_rate=2000, faults=FaultSpec(ws_drop_every_s=0.7))
    settings = settings_for(server, tmp_path)  # type: ignore[arg-type]
    symbols = symbols_of(server, 4)
    collector = collector_for(settings, symbols)
    summary = run_collector(collector, 2.6)
    assert summary.sessions >= 3
    warehouse = persist_all(settings)
    stored = sum(warehouse.read(t).height for t in TICK_TABLE_NAMES if t in warehouse.tables())
    assert stored == summary.records  # everything received reached the warehouse
    sent = server.stats()["ticks_total"]  # type: ignore[attr-defined]
    assert sent >= stored  # a drop may cut frames the server had already written
    sessions = warehouse.read("stream_sessions").sort("started_at")
    assert sessions.height == summary.sessions
    reasons = sessions["reason"].to_list()
    assert all(r.startswith("connection lost") for r in reasons[:-1]), reasons
    # The last session ends with the run, unless a drop cut it in the same instant.
    assert reasons[-1] == "stopped: duration" or reasons[-1].startswith("connection lost"), reasons
    assert (sessions["subscriptions"] == 8).all()  # every session resubscribed everything
    ends, starts = sessions["ended_at"].to_list()[:-1], sessions["started_at"].to_list()[1:]
    assert all(end <= start for end, start in zip(ends, starts, strict=True))  # the holes
    assert sessions["frames"].sum() == summary.frames


def test_extra_trailing_columns_parse_and_pingpong_keeps_the_session_alive(
    private_sim: Callable[..., object], tmp_path: Path
) -> None:
    server = private_sim(
        tick_rate=3000,
        faults=FaultSpec(extra_column=True),
        ws_ping_interval_s=0.15,
        ws_pong_timeout_s=0.5,
    )
    settings = settings_for(server, tmp_path)  # type: ignore[arg-type]
    summary = run_collector(collector_for(settings, symbols_of(server, 3), ALL_TRS), 1.5)
    assert summary.sessions == 1 and summary.pings >= 4
    stats = server.stats()  # type: ignore[attr-defined]
    warehouse = persist_all(settings)
    assert "stream_rejects" not in warehouse.tables()
    assert warehouse_counts(warehouse) == {tr: Counter(per) for tr, per in stats["ticks"].items()}
    assert spool_records(Spool.for_warehouse(settings.warehouse)) == Counter(
        {tr: sum(per.values()) for tr, per in stats["ticks"].items()}
    )


def test_a_second_session_on_the_same_app_key_is_refused_clearly(
    sim_server: object, tmp_path: Path
) -> None:
    environ = sim_environ(sim_server, tmp_path / "a", KIS_WAREHOUSE=str(tmp_path / "wa"))  # type: ignore[arg-type]
    first = KisSettings.from_env(environ)
    # Same app key, another machine (its own state dir), so only KIS can notice.
    second = KisSettings.from_env(
        {**environ, "KIS_STATE_DIR": str(tmp_path / "b"), "KIS_WAREHOUSE": str(tmp_path / "wb")}
    )
    symbols = symbols_of(sim_server, 2)

    async def scenario() -> None:
        holder = collector_for(first, symbols)
        task = asyncio.create_task(holder.run(duration_s=8.0))
        while not holder.connected or not holder.subs.active:
            await asyncio.sleep(0.02)
        await asyncio.sleep(1.0)  # KIS issues one approval key per second per app key
        with pytest.raises(SessionRefused, match="OPSP8996"):
            await collector_for(second, symbols).run(duration_s=6.0)
        holder.stop("test")
        await task

    asyncio.run(scenario())


def test_a_second_local_collector_on_the_same_key_refuses_to_start(
    sim_server: SimulatorServer, tmp_path: Path
) -> None:
    sim_settings = settings_for(sim_server, tmp_path)
    spool = Spool.for_warehouse(sim_settings.warehouse)
    key_id = sim_settings.key_id
    with (
        collector_locks(sim_settings.state_dir, spool.open_lock(key_id), key_id),
        pytest.raises(CollectorBusy, match="already streaming with this app key"),
    ):
        stream(sim_settings, StreamOptions(duration_s=1, symbols=["005930"]))


# --- fake servers ---------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def fake_kis(
    on_subscribed: Callable[[ServerConnection, str, str], Awaitable[None]],
) -> AsyncIterator[str]:
    """A WebSocket server that acks every registration, then hands over to `on_subscribed`."""

    async def handler(ws: ServerConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for text in ws:
                body = json.loads(text)
                tr_id, tr_key = body["body"]["input"]["tr_id"], body["body"]["input"]["tr_key"]
                ok = body["header"]["tr_type"] == "1"
                ack = {
                    "header": {"tr_id": tr_id, "tr_key": tr_key, "encrypt": "Y"},
                    "body": {
                        "rt_cd": "0",
                        "msg_cd": "OPSP0000" if ok else "OPSP0001",
                        "msg1": "SUBSCRIBE SUCCESS" if ok else "UNSUBSCRIBE SUCCESS",
                        "output": {"iv": "i" * 16, "key": "k" * 32},
                    },
                }
                await ws.send(json.dumps(ack))
                if ok:
                    await on_subscribed(ws, tr_id, tr_key)

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        yield f"ws://127.0.0.1:{port}"


def test_a_silent_connection_is_treated_as_dead_and_replaced(tmp_path: Path) -> None:
    async def silent(ws: ServerConnection, tr_id: str, tr_key: str) -> None:
        return

    async def scenario() -> int:
        async with fake_kis(silent) as url:
            collector = fake_collector(url, tmp_path, silence_timeout_s=0.25)
            summary = await collector.run(duration_s=1.2)
            return summary.sessions

    assert asyncio.run(scenario()) >= 3
    warehouse = persist_all(
        KisSettings.from_env({"KIS_ENV": "sim", "KIS_WAREHOUSE": str(tmp_path)})
    )
    reasons = warehouse.read("stream_sessions").sort("started_at")["reason"].to_list()
    assert all(r.startswith("silence: no message") for r in reasons[:-1]), reasons


def test_encrypted_frames_are_decrypted_at_receipt_and_bad_ones_kept(tmp_path: Path) -> None:
    async def encrypted(ws: ServerConnection, tr_id: str, tr_key: str) -> None:
        payload = encrypt_payload(trade(acml=42), "k" * 32, "i" * 16)
        await ws.send(f"1|H0STCNT0|001|{payload}")
        await ws.send("1|H0STCNT0|001|bm90IGNpcGhlcnRleHQ=")  # not decryptable
        await ws.send(frame("H0STCNT0", trade(acml=43)))

    async def scenario() -> None:
        async with fake_kis(encrypted) as url:
            await fake_collector(url, tmp_path).run(duration_s=0.6)

    asyncio.run(scenario())
    warehouse = persist_all(
        KisSettings.from_env({"KIS_ENV": "sim", "KIS_WAREHOUSE": str(tmp_path)})
    )
    assert sorted(warehouse.read("trade_ticks")["cum_volume"].to_list()) == [42, 43]
    rejects = warehouse.read("stream_rejects")
    assert rejects.height == 1 and rejects["raw"][0].startswith("1|H0STCNT0|001|")


@pytest.mark.slow
@pytest.mark.parametrize("rate", [20_000, 50_000])
def test_rate_sweep_stores_every_tick_exactly_once(
    private_sim: Callable[..., object], tmp_path: Path, rate: int
) -> None:
    server = private_sim(tick_rate=float(rate))
    settings = settings_for(server, tmp_path)  # type: ignore[arg-type]
    symbols = symbols_of(server, 20)
    summary = run_collector(collector_for(settings, symbols, seal_interval_s=1.0), 5.0)
    sent = server.stats()["ticks"]  # type: ignore[attr-defined]
    assert summary.sessions == 1
    warehouse = persist_all(settings)
    assert warehouse_counts(warehouse) == {tr: Counter(per) for tr, per in sent.items()}
    assert summary.records >= rate * 3


def test_opsp8996_after_a_drop_is_retried_with_backoff(tmp_path: Path) -> None:
    """KIS may still hold our dropped session for a moment: a reconnect refused with OPSP8996
    is retried (a few times, with backoff), unlike a refusal before any session of ours."""
    connections = [0]

    async def handler(ws: ServerConnection) -> None:
        connections[0] += 1
        number = connections[0]
        with contextlib.suppress(websockets.ConnectionClosed):
            async for text in ws:
                body = json.loads(text)
                tr_id = body["body"]["input"]["tr_id"]
                tr_key = body["body"]["input"]["tr_key"]
                if number in (2, 3):
                    refused = {
                        "header": {"tr_id": "(null)", "tr_key": "", "encrypt": "N"},
                        "body": {"rt_cd": "9", "msg_cd": "OPSP8996", "msg1": "ALREADY IN USE"},
                    }
                    await ws.send(json.dumps(refused))
                    return
                ack = {
                    "header": {"tr_id": tr_id, "tr_key": tr_key, "encrypt": "N"},
                    "body": {"rt_cd": "0", "msg_cd": "OPSP0000", "msg1": "SUBSCRIBE SUCCESS"},
                }
                await ws.send(json.dumps(ack))
                await ws.send(frame("H0STCNT0", trade(acml=number)))
                if number == 1:
                    return  # dropped by the server

    async def scenario() -> int:
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            collector = fake_collector(f"ws://127.0.0.1:{port}", tmp_path)
            summary = await collector.run(duration_s=1.0)
            return summary.sessions

    assert asyncio.run(scenario()) == 4
    assert connections[0] == 4
