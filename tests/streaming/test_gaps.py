"""Holes in the tick stream: each is recorded in `stream_gaps` with its start and end, and the
trades lost in it are refilled from REST's last 30 executions (SPEC §7.7) without storing twice
a trade the WebSocket delivered, or the gap says which symbols the refill did not reach."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
import websockets
from websockets.asyncio.server import ServerConnection, serve

from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints import fetch_recent_executions
from kis_pipeline.simulator.config import FaultSpec
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.simulator.venues import nxt_on
from kis_pipeline.streaming.spool import Spool
from kis_pipeline.streaming.trade_marks import Trade, align, frame_trades
from tests.helpers.simulator import SIM_NOW
from tests.streaming.helpers import (
    collector_for,
    fake_collector,
    frame,
    persist_all,
    run_collector,
    sent_against_stored,
    settings_for,
    symbols_of,
    trade,
)


def trades(*specs: tuple[str, int, int]) -> list[Trade]:
    """Trades of one day from (time, price, volume); the strength tells equal ones apart."""
    return [Trade("20231123", t, p, v, float(i)) for i, (t, p, v) in enumerate(specs)]


TAPE = trades(*((f"0900{i:02d}", 100 + i, 1) for i in range(40)))


@pytest.mark.parametrize(
    ("before", "after", "window", "expected"),
    [
        # Delivered up to #9, lost #10-#12, delivered again from #13: exactly the three.
        (TAPE[7:10], TAPE[13], TAPE[0:20], (10, 13, True)),
        # Nothing was lost: the marks are next to each other.
        (TAPE[7:10], TAPE[10], TAPE[0:20], (10, 10, True)),
        # The window starts after the hole began: keep what is later than the start mark, and
        # say the refill did not reach back.
        (TAPE[0:3], TAPE[25], TAPE[10:40], (0, 15, False)),
        # The window is all newer than the first trade delivered after: nothing to refill.
        (TAPE[7:10], TAPE[12], TAPE[13:40], (0, 0, False)),
        # No trade is known from before the hole: nothing can be told apart.
        ([], TAPE[5], TAPE[0:10], (5, 5, False)),
        # ... unless the symbol had not traded at all before the first trade delivered.
        ([], TAPE[0], TAPE[0:10], (0, 0, True)),
        # No trade delivered yet after the hole: everything after the start mark is missing.
        (TAPE[7:10], None, TAPE[0:12], (10, 12, True)),
    ],
)
def test_alignment_keeps_exactly_the_trades_between_the_marks(
    before: list[Trade],
    after: Trade | None,
    window: list[Trade],
    expected: tuple[int, int, bool],
) -> None:
    fit = align(before, after, window)
    assert (fit.start, fit.stop, fit.covered) == expected


def test_a_repeated_trade_is_told_apart_by_the_trades_before_it() -> None:
    # The last trade delivered before the hole happens twice in the window, the second time
    # lost in the hole: the trade before it tells which one was delivered.
    a, b, c = trades(("090000", 99, 1), ("090000", 98, 2), ("090001", 97, 1))
    same = Trade("20231123", "090000", 100, 1, 50.0)
    window = [a, same, b, same, c]
    fit = align([a, same], c, window)
    assert (fit.start, fit.stop, fit.covered) == (2, 4, True)


def counted(*specs: tuple[str, int, int, float]) -> list[Trade]:
    """Trades of one day from (time, price, volume, strength), with the cumulative volume the
    WebSocket says of each."""
    out, total = [], 0
    for time, price, volume, strength in specs:
        total += volume
        out.append(Trade("20231123", time, price, volume, strength, total))
    return out


# Keys repeat: #2 and #4 are alike, and so are #5 and #7 (a strength rounded to 0.01 often
# stays put over trades of one share). #0-#2 are delivered, #3-#6 lost, #7 delivered after.
TWINS = counted(
    ("090000", 100, 5, 50.0),
    ("090000", 101, 1, 50.1),
    ("090000", 100, 1, 50.2),
    ("090000", 100, 1, 50.3),
    ("090000", 100, 1, 50.2),
    ("090001", 100, 1, 50.2),
    ("090001", 99, 2, 50.2),
    ("090001", 100, 1, 50.2),
    ("090001", 101, 3, 50.5),
)

# Two trades of one second happen again in it, with no cumulative volume said.
AGAIN = trades(("090000", 100, 1), ("090000", 101, 1), ("090000", 99, 1))
AGAIN += [*AGAIN[0:2], *trades(("090001", 100, 1))]


@pytest.mark.parametrize(
    ("before", "after", "window", "expected"),
    [
        # The first trade after the hole has a lost twin: the volume traded in the hole says
        # which one it is.
        (TWINS[0:3], TWINS[7], TWINS, (3, 7, True)),
        # The window starts at the lost twin of the last trade delivered: it does not reach
        # back, and what is kept ends before the earliest twin of the first trade after.
        (TWINS[0:3], TWINS[7], TWINS[4:], (1, 1, False)),
        # With no cumulative volume to tell, a start mark found twice is found nowhere.
        (AGAIN[0:2], AGAIN[5], AGAIN, (5, 5, False)),
        # Nothing traded in the hole: covered, however far back REST reaches.
        (TWINS[0:3], TWINS[3], TWINS[5:], (0, 0, True)),
    ],
)
def test_alignment_trusts_a_mark_only_where_it_fits_one_way(
    before: list[Trade],
    after: Trade,
    window: list[Trade],
    expected: tuple[int, int, bool],
) -> None:
    fit = align(before, after, window)
    assert (fit.start, fit.stop, fit.covered) == expected


def test_a_trade_frame_says_its_cumulative_volume_when_it_has_one() -> None:
    payload = frame("H0STCNT0", trade(vol=3, acml=120), trade(vol=2, acml=122)).encode()
    assert [t.cum_volume for _, t in frame_trades(payload)] == [120, 122]
    blank = trade().split("^")
    blank[13] = ""  # ACML_VOL
    payload = frame("H0STCNT0", "^".join(blank)).encode()
    assert [t.cum_volume for _, t in frame_trades(payload)] == [None]


def test_rest_answers_the_newest_30_trades_the_websocket_sent(
    private_sim: Callable[..., SimulatorServer], tmp_path: Path
) -> None:
    server = private_sim(tick_rate=400)
    settings = settings_for(server, tmp_path)
    symbol = symbols_of(server, 1)[0]
    run_collector(collector_for(settings, [symbol], ("H0STCNT0",)), 1.0)
    with KisClient(settings) as client:
        answer = fetch_recent_executions(client, symbol)
    stored = persist_all(settings).read("trade_ticks").sort("cum_volume").tail(30)
    assert answer.height == 30
    assert answer["time"].to_list() == stored["ts"].dt.strftime("%H%M%S").to_list()
    for column in ("price", "volume", "trade_strength", "change", "change_rate"):
        assert answer[column].to_list() == stored[column].to_list(), column


@pytest.mark.parametrize("venue", ["KRX", "NXT"])
def test_trades_lost_at_each_drop_are_refilled_and_every_gap_is_recorded(
    private_sim: Callable[..., SimulatorServer], tmp_path: Path, venue: str
) -> None:
    # The drop fault breaks each session with a frame on its way: those ticks are lost.
    server = private_sim(tick_rate=60, faults=FaultSpec(ws_drop_every_s=0.8))
    settings = settings_for(server, tmp_path)
    market = server.state.market
    # Nextrade's evening session (18:00), of names it trades: refilled from its own REST tape.
    symbols = [x.symbol for x in market.listings if venue == "KRX" or nxt_on(x, SIM_NOW.date())]
    collector = collector_for(settings, symbols[:4], refill=True, venue=venue)

    def refilled() -> list[dict[str, object]]:
        return [g for g in collector.gaps.recorded if g["type"] == "gap_refilled"]

    async def scenario() -> None:
        task = asyncio.create_task(collector.run(duration_s=60))
        # Until a drop has cut a trade frame (some cut order book frames only).
        while len(refilled()) < 3 or not any(g["rest_rows"] for g in refilled()):
            assert not task.done()
            await asyncio.sleep(0.05)
        collector.stop("test")
        await task

    asyncio.run(scenario())
    warehouse = persist_all(settings)
    spool = Spool.for_warehouse(settings.warehouse)
    ledger = sent_against_stored(server, warehouse, spool, settings.app_key.reveal(), venue)
    # Every trade lost is refilled, or its symbol is named in a gap left uncovered.
    assert ledger.problems == [] and ledger.rest > 0, ledger.report()
    # Nextrade's evening trades are small: one share at one price in one second repeats, and
    # REST (no trade id) cannot tell such twins apart, so a hole among them may stay unplaced.
    strict = venue == "KRX"
    assert ledger.missing == 0 or not strict, ledger.report()
    gaps = warehouse.read("stream_gaps").sort("started_at")
    sessions = warehouse.read("stream_sessions").sort("started_at")
    # One gap after each dropped session, from its last frame to the next one's subscriptions.
    dropped = sessions.filter(pl.col("reason").str.starts_with("connection lost"))
    assert gaps["session_before"].to_list() == dropped["session_id"].to_list()
    assert gaps["session_after"].to_list() == sessions["session_id"].to_list()[1:]
    assert (gaps["started_at"] <= gaps["ended_at"]).all()
    covered = gaps["rest_covered"].all() and gaps["rest_uncovered"].null_count() == gaps.height
    assert covered or not strict
    refills = warehouse.read("trade_ticks").filter(pl.col("source") == "rest")
    assert refills.height == gaps["rest_rows"].sum() == ledger.rest
    assert (refills["tr_id"] == "FHKST01010300").all() and refills["cum_volume"].is_null().all()
    assert set(warehouse.read("trade_ticks")["venue"]) == {venue}


def test_a_collector_stopped_while_disconnected_records_its_gap_unfilled(
    tmp_path: Path,
) -> None:
    connections = [0]

    async def handler(ws: ServerConnection) -> None:
        connections[0] += 1
        if connections[0] > 1:
            return  # the service is down: connections close at once
        with contextlib.suppress(websockets.ConnectionClosed):
            async for text in ws:
                request = json.loads(text)["body"]["input"]
                body = {"rt_cd": "0", "msg_cd": "OPSP0000", "msg1": "SUBSCRIBE SUCCESS"}
                header = {"tr_id": request["tr_id"], "tr_key": request["tr_key"]}
                await ws.send(json.dumps({"header": {**header, "encrypt": "N"}, "body": body}))
                await ws.send(frame("H0STCNT0", trade(acml=1)))
                return

    async def scenario() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            await fake_collector(f"ws://127.0.0.1:{port}", tmp_path).run(duration_s=0.8)

    asyncio.run(scenario())
    warehouse = persist_all(settings_for_root(tmp_path))
    gaps = warehouse.read("stream_gaps")
    assert gaps.height == 1
    gap = gaps.row(0, named=True)
    assert gap["session_after"] is None and gap["rest_covered"] is None
    assert gap["ended_at"] > gap["started_at"]
    assert gap["note"] == "the collector stopped before the stream came back"


def settings_for_root(root: Path) -> object:
    from kis_pipeline.kis.settings import KisSettings

    return KisSettings.from_env({"KIS_ENV": "sim", "KIS_WAREHOUSE": str(root)})
