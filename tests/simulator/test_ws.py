"""The simulator's WebSocket app, driven by a real `websockets` client over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import functools
import json
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import websockets
from aiohttp import web

from kis_pipeline.common.clock import KST
from kis_pipeline.kis.ws import protocol
from kis_pipeline.simulator.config import FaultSpec, SimConfig
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.simulator.session_clock import SESSION_CLOSE_S, SESSION_OPEN_S, SessionClock
from kis_pipeline.simulator.session_plan import SessionPlan
from kis_pipeline.simulator.state import SIM_APP_KEY, SimState
from kis_pipeline.simulator.ticks import MAX_RECORDS_PER_FRAME, SymbolTape, build_frames
from kis_pipeline.simulator.ws import create_ws_app, session_clock_date
from kis_pipeline.simulator.ws_settings import WS_STATS, WsAppSettings

# A Friday evening: outside KRX hours, so the app plays Monday's session.
EVENING = dt.datetime(2026, 11, 20, 18, 0, tzinfo=KST)
NEXT_SESSION = dt.date(2026, 11, 23)
BASE_CONFIG = SimConfig(seed=11, universe=20, start=dt.date(2025, 1, 2), now=EVENING)


@functools.cache
def market() -> Market:
    # Read-only and deterministic, so one instance serves every test of the module.
    return Market(BASE_CONFIG)


def symbols() -> list[str]:
    return [listing.symbol for listing in market().listings]


@dataclass
class Harness:
    url: str
    state: SimState
    app: web.Application

    def approval_key(self, app_key: str = SIM_APP_KEY) -> str:
        return self.state.issue_approval_key(app_key)


@contextlib.asynccontextmanager
async def serve(
    tick_rate: float = 0.0, faults: str = "", **settings: Any
) -> AsyncIterator[Harness]:
    config = dataclasses.replace(BASE_CONFIG, tick_rate=tick_rate, faults=FaultSpec.parse(faults))
    state = SimState(config, market())
    app = create_ws_app(state, WsAppSettings.from_config(config, **settings))
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield Harness(f"ws://127.0.0.1:{port}", state, app)
    finally:
        await runner.cleanup()


def connect(url: str) -> Any:
    return websockets.connect(url, compression=None, max_size=None, open_timeout=5)


async def request(ws: Any, text: str) -> dict[str, Any]:
    """Send a registration and return the next JSON message (data frames skipped)."""
    await ws.send(text)
    while True:
        reply = await asyncio.wait_for(ws.recv(), 5)
        if reply[0] == "{" and "PINGPONG" not in reply:
            return json.loads(reply)


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 15))


# --- acks and validation -------------------------------------------------------------------


def test_acks_have_the_kis_shape_and_validation_codes() -> None:
    async def scenario() -> None:
        async with serve() as sim, connect(sim.url + "/tryitout") as ws:
            key = sim.approval_key()
            ack = await request(ws, protocol.subscribe_message(key, "H0STCNT0", "005930"))
            assert ack["header"] == {"tr_id": "H0STCNT0", "tr_key": "005930", "encrypt": "N"}
            body = ack["body"]
            assert (body["rt_cd"], body["msg_cd"], body["msg1"]) == (
                "0",
                "OPSP0000",
                "SUBSCRIBE SUCCESS",
            )
            assert len(body["output"]["iv"]) == 16 and len(body["output"]["key"]) == 32
            parsed = protocol.parse_message(json.dumps(ack))
            assert isinstance(parsed, protocol.Ack) and parsed.ok

            async def code(text: str) -> str:
                return (await request(ws, text))["body"]["msg_cd"]

            sub, unsub = protocol.subscribe_message, protocol.unsubscribe_message
            assert await code(sub(key, "H0STCNT0", "005930")) == "OPSP0002"
            assert await code(sub(key, "H0ZZZZZ0", "005930")) == "OPSP8991"
            assert await code(sub(key, "H0STCNT0", "999999")) == "OPSP8993"
            assert await code(sub("not-issued", "H0STCNT0", "005930")) == "OPSP0011"
            assert await code(protocol.request_message(key, "H0STCNT0", "005930", "0")) == (
                "OPSP8997"
            )
            assert await code("{not json") == "OPSP9999"
            assert await code('{"body":{}}') == "OPSP9998"
            assert await code(unsub(key, "H0STCNT0", "005930")) == "OPSP0001"
            assert await code(unsub(key, "H0STCNT0", "005930")) == "OPSP0003"

    run(scenario())


def test_42nd_registration_is_refused() -> None:
    async def scenario() -> None:
        async with serve() as sim, connect(sim.url) as ws:
            key = sim.approval_key()
            feeds = [(tr, sym) for sym in symbols() for tr in ("H0STCNT0", "H0STASP0", "H0STANC0")]
            codes = [
                (await request(ws, protocol.subscribe_message(key, tr, sym)))["body"]["msg_cd"]
                for tr, sym in feeds[:42]
            ]
            assert codes[:41] == ["OPSP0000"] * 41
            assert codes[41] == "OPSP0008"
            ack = protocol.parse_message(
                json.dumps(await request(ws, protocol.subscribe_message(key, *feeds[42])))
            )
            assert isinstance(ack, protocol.Ack) and ack.msg1 == "MAX SUBSCRIBE OVER"
            # Releasing one frees a slot.
            await request(ws, protocol.unsubscribe_message(key, *feeds[0]))
            again = await request(ws, protocol.subscribe_message(key, *feeds[42]))
            assert again["body"]["msg_cd"] == "OPSP0000"

    run(scenario())


def test_second_session_with_the_same_app_key_is_refused_and_dropped() -> None:
    async def scenario() -> None:
        async with serve() as sim:
            key = sim.approval_key()
            async with connect(sim.url) as first:
                await request(first, protocol.subscribe_message(key, "H0STCNT0", "005930"))
                async with connect(sim.url + "/tryitout/H0STCNT0") as second:
                    # A fresh approval key of the same app key does not help.
                    other = sim.approval_key()
                    reply = await request(
                        second, protocol.subscribe_message(other, "H0STASP0", "005930")
                    )
                    assert reply["body"] == {
                        "rt_cd": "9",
                        "msg_cd": "OPSP8996",
                        "msg1": "ALREADY IN USE appkey",
                    }
                    with pytest.raises(websockets.ConnectionClosed):
                        await asyncio.wait_for(second.recv(), 5)
                # Another app key gets its own session alongside.
                async with connect(sim.url) as third:
                    reply = await request(
                        third,
                        protocol.subscribe_message(
                            sim.approval_key("PSOTHERKEY"), "H0STCNT0", "005930"
                        ),
                    )
                    assert reply["body"]["msg_cd"] == "OPSP0000"
            await asyncio.sleep(0.1)  # the server notices the first session is gone
            async with connect(sim.url) as fourth:
                reply = await request(fourth, protocol.subscribe_message(key, "H0STCNT0", "005930"))
                assert reply["body"]["msg_cd"] == "OPSP0000"
            assert sim.app[WS_STATS].sessions_rejected == 1

    run(scenario())


# --- heartbeat and faults -------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["pong_frame", "echo_text"])
def test_pingpong_arrives_and_answered_sessions_survive(answer: str) -> None:
    async def scenario() -> None:
        async with serve(ping_interval_s=0.2, pong_timeout_s=0.6) as sim, connect(sim.url) as ws:
            await request(ws, protocol.subscribe_message(sim.approval_key(), "H0STCNT0", "005930"))
            pings = 0
            deadline = time.monotonic() + 1.5  # well past the pong timeout
            while time.monotonic() < deadline:
                message = protocol.parse_message(await asyncio.wait_for(ws.recv(), 2))
                if isinstance(message, protocol.PingPong):
                    pings += 1
                    assert len(message.datetime) == 14
                    if answer == "pong_frame":
                        await ws.pong(message.raw.encode())
                    else:
                        await ws.send(protocol.pong_text(message))
            assert pings >= 3
            stats = sim.app[WS_STATS]
            assert stats.pingpong_answered >= pings - 1
            assert not stats.drops

    run(scenario())


def test_silent_client_is_dropped_after_the_pong_timeout() -> None:
    async def scenario() -> None:
        async with serve(ping_interval_s=0.2, pong_timeout_s=0.4) as sim, connect(sim.url) as ws:
            await request(ws, protocol.subscribe_message(sim.approval_key(), "H0STCNT0", "005930"))
            start = time.monotonic()
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), 5)
            assert 0.5 < time.monotonic() - start < 3
            assert sim.app[WS_STATS].drops["pingpong_timeout"] == 1
            # The app key's session slot is free again.
            await asyncio.sleep(0.05)
            assert sim.state.open_ws_session(SIM_APP_KEY)

    run(scenario())


def test_drop_fault_closes_the_socket_after_the_configured_time() -> None:
    """... with a frame on its way, and /sim/stats tells what that session was sent."""

    async def scenario() -> None:
        async with serve(tick_rate=200, faults="ws_drop_every_s=0.5") as sim:
            received = 0
            async with connect(sim.url) as ws:
                start = time.monotonic()
                await request(
                    ws, protocol.subscribe_message(sim.approval_key(), "H0STCNT0", "005930")
                )
                host, port = ws.local_address[:2]
                address = f"{host}:{port}"
                with pytest.raises(websockets.ConnectionClosed):
                    while True:
                        message = await asyncio.wait_for(ws.recv(), 5)
                        if message.startswith("0|"):
                            received += int(message.split("|")[2])
                assert 0.4 < time.monotonic() - start < 2
            assert sim.app[WS_STATS].drops["fault_ws_drop_every_s"] == 1
            await asyncio.sleep(0.05)
            (session,) = sim.state.snapshot()["ws_sessions"]
            assert session["peer"] == address and session["app_key"] == SIM_APP_KEY
            assert session["end"] == "fault_ws_drop_every_s" and session["closed_at"]
            assert session["ticks"] == {"H0STCNT0": {"005930": received}}
            # The frame cut by the drop was traded but never sent.
            executed = sim.state.snapshot()["executions"]["005930"]
            assert executed > session["ticks_total"] == received

    run(scenario())


def test_extra_column_fault_appends_one_field_to_every_record() -> None:
    async def scenario() -> None:
        async with serve(tick_rate=500, faults="extra_column") as sim, connect(sim.url) as ws:
            key = sim.approval_key()
            for tr_id in ("H0STCNT0", "H0STASP0", "H0STMKO0"):
                await request(ws, protocol.subscribe_message(key, tr_id, "005930"))
            widths: dict[str, set[int]] = defaultdict(set)
            while len(widths) < 3:
                text = await asyncio.wait_for(ws.recv(), 5)
                if text[0] == "0":
                    records = protocol.decode_frame(text)
                    widths[records.tr_id].add(records.extra_fields)
            assert widths == {"H0STCNT0": {1}, "H0STASP0": {1}, "H0STMKO0": {1}}

    run(scenario())


# --- ticks ----------------------------------------------------------------------------------


def trade_rows(text: str) -> list[dict[str, str | None]]:
    return protocol.decode_frame(text).as_dicts()


def test_ticks_arrive_complete_and_cumulative_volume_is_consistent() -> None:
    feeds = [
        ("H0STCNT0", "005930"),
        ("H0STASP0", "005930"),
        ("H0STCNT0", "000660"),
        ("H0STASP0", "000660"),
        ("H0STANC0", "005930"),
        ("H0STMKO0", "005930"),
    ]

    async def scenario() -> None:
        async with serve(tick_rate=3000) as sim, connect(sim.url + "/tryitout") as ws:
            key = sim.approval_key()
            for feed in feeds:
                await ws.send(protocol.subscribe_message(key, *feed))
            received: Counter[tuple[str, str]] = Counter()
            trades: dict[str, list[dict[str, str | None]]] = defaultdict(list)
            book_volumes: dict[str, list[int]] = defaultdict(list)
            counts: Counter[int] = Counter()
            unsubscribed = 0
            start = time.monotonic()
            while unsubscribed < len(feeds):
                if start and time.monotonic() - start > 1.0:
                    start = 0.0
                    for feed in feeds:
                        await ws.send(protocol.unsubscribe_message(key, *feed))
                message = protocol.parse_message(await asyncio.wait_for(ws.recv(), 5))
                if isinstance(message, protocol.Ack):
                    assert message.ok, message
                    unsubscribed += message.is_unsubscribe
                    continue
                if not isinstance(message, protocol.DataMessage):
                    continue
                counts[message.count] += 1
                for row in protocol.decode_records(message).as_dicts():
                    symbol = str(row["MKSC_SHRN_ISCD"])
                    received[(message.tr_id, symbol)] += 1
                    if message.tr_id == "H0STCNT0":
                        trades[symbol].append(row)
                    elif message.tr_id == "H0STASP0":
                        book_volumes[symbol].append(int(str(row["ACML_VOL"])))

            stats = sim.app[WS_STATS]
            for tr_id, symbol in feeds:
                assert received[(tr_id, symbol)] > 0, (tr_id, symbol)
                assert stats.records_sent(tr_id, symbol, SIM_APP_KEY) == received[(tr_id, symbol)]
                assert sim.state.stats.ticks[tr_id][symbol] == received[(tr_id, symbol)]
            assert max(counts) > 1  # multi-record frames at this rate
            assert sum(received.values()) > 1500

            for symbol, rows in trades.items():
                acml = [int(str(row["ACML_VOL"])) for row in rows]
                volume = [int(str(row["CNTG_VOL"])) for row in rows]
                assert acml[0] >= volume[0] > 0
                assert all(acml[i] == acml[i - 1] + volume[i] for i in range(1, len(rows)))
                assert {row["BSOP_DATE"] for row in rows} == {NEXT_SESSION.strftime("%Y%m%d")}
                assert set(book_volumes[symbol]) <= {0, *acml}  # the book follows the trades
                bar = market().session_bar(symbol, NEXT_SESSION)
                assert bar is not None
                prices = [int(str(row["STCK_PRPR"])) for row in rows]
                assert all(bar.low <= p <= bar.high for p in prices)
                assert {row["STCK_OPRC"] for row in rows} == {str(bar.open)}
                change = [int(str(row["PRDY_VRSS"])) for row in rows]
                assert all(c == p - bar.prev_close for c, p in zip(change, prices, strict=True))
            assert session_clock_date(sim.app) == NEXT_SESSION

    run(scenario())


def test_simulator_server_mounts_the_app() -> None:
    config = dataclasses.replace(BASE_CONFIG, tick_rate=500)

    async def scenario(server: SimulatorServer) -> None:
        key = server.state.issue_approval_key(SIM_APP_KEY)
        async with connect(server.ws_url + "/tryitout/H0STCNT0") as ws:
            ack = await request(ws, protocol.subscribe_message(key, "H0STCNT0", "005930"))
            assert ack["body"]["msg_cd"] == "OPSP0000"
            rows: list[dict[str, str | None]] = []
            while len(rows) < 20:
                text = await asyncio.wait_for(ws.recv(), 5)
                if text[0] == "0":
                    rows += trade_rows(text)
        assert server.stats()["ticks"]["H0STCNT0"]["005930"] >= 20

    with SimulatorServer(config, market=market()) as server:
        assert server.has_ws
        run(scenario(server))


def test_a_full_day_ends_on_the_session_bar() -> None:
    plan = SessionPlan(
        "005930",
        NEXT_SESSION,
        26_550,
        26_550,
        26_850,
        25_800,
        26_000,
        15_445_604,
        34_834_927,
        5_969_782_550,
    )
    tape = SymbolTape(plan, seed=11, start_s=SESSION_OPEN_S)
    records = []
    for second in range(SESSION_OPEN_S, SESSION_CLOSE_S):
        records += tape.trades(2, second + 0.5)
    frames = [text for text, _ in build_frames("H0STCNT0", records)]
    assert max(len(text) for text in frames) < 1_000_000
    day = protocol.parse_frames("H0STCNT0", frames).frame
    prices = [int(p) for p in day["STCK_PRPR"].to_list()]
    assert prices[0] == plan.open and prices[-1] == plan.close
    assert (max(prices), min(prices)) == (plan.high, plan.low)
    assert all(p % 50 == 0 for p in prices)  # the 50-won grid of this price band
    volume = int(day["ACML_VOL"][-1])
    assert sum(int(v) for v in day["CNTG_VOL"].to_list()) == volume
    assert abs(volume - plan.volume) < plan.volume * 0.01
    assert day["STCK_CNTG_HOUR"][-1] == "152959"


def test_tape_is_deterministic_and_frames_are_capped() -> None:
    plan = SessionPlan(
        "005930",
        NEXT_SESSION,
        71_900,
        72_000,
        73_000,
        71_000,
        72_500,
        12_000_000,
        12_000_000,
        5_969_782_550,
    )
    a = SymbolTape(plan, seed=7, start_s=10 * 3600).trades(2_500, 10 * 3600)
    b = SymbolTape(plan, seed=7, start_s=10 * 3600).trades(2_500, 10 * 3600)
    assert a == b
    frames = build_frames("H0STCNT0", a)
    assert [count for _, count in frames] == [MAX_RECORDS_PER_FRAME, MAX_RECORDS_PER_FRAME, 502]
    parsed = protocol.parse_frames("H0STCNT0", [text for text, _ in frames])
    assert parsed.errors == [] and parsed.records == 2_500
    # A tape joined at 10:00 already carries the morning's volume.
    assert int(parsed.frame["ACML_VOL"][0]) > 1_000_000


def test_clock_follows_the_wall_clock_during_krx_hours() -> None:
    inside = dt.datetime(2026, 11, 20, 10, 15, 30, tzinfo=KST)
    clock = SessionClock(Market(dataclasses.replace(BASE_CONFIG, now=inside)))
    day, seconds = clock.now()
    assert day == dt.date(2026, 11, 20)
    assert 10 * 3600 + 15 * 60 + 30 <= seconds < 10 * 3600 + 15 * 60 + 35
    saturday = dt.datetime(2026, 11, 21, 3, 0, tzinfo=KST)
    day, seconds = SessionClock(Market(dataclasses.replace(BASE_CONFIG, now=saturday))).now()
    assert day == NEXT_SESSION and 9 * 3600 <= seconds < 9 * 3600 + 1
