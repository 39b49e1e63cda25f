"""The simulator's WebSocket app: KIS's real-time protocol on "/", "/tryitout" and
"/tryitout/{tr_id}" (SPEC §15), mounted by `SimulatorServer` through `create_ws_app(state)`.

What a client meets, as on the real service:
- registrations are JSON messages checked in KIS's order: JSON shape (OPSP9999/9998/9992/
  9991), approval key issued by the REST side (OPSP0011 "invalid approval : NOT FOUND"),
  one session per app key (OPSP8996, after which the socket is dropped), custtype
  (OPSP9997/8998), tr_type (OPSP8997), tr_id (OPSP8991), tr_key (OPSP8993), duplicates
  (OPSP0002), the registration cap (OPSP0008); releases answer OPSP0001 or OPSP0003;
- acks in the §15.3 shape with a per-session AES iv/key;
- PINGPONG every `ping_interval_s`; a client that answers neither with a pong frame nor by
  echoing the text within `pong_timeout_s` is dropped;
- data frames for H0STCNT0/H0STASP0/H0STANC0/H0STMKO0/H0STPGM0 from `ticks.py`, several records per
  frame when the rate is high (one frame per feed per pump round);
- faults: `ws_drop_every_s` drops every session after that long, at its next data frame (so
  ticks are lost in flight, as when a real connection breaks), `extra_column` appends a field
  to every record (handled in ticks.py).
Drops are abrupt (no close frame), which is how KIS sessions end when they go wrong.

Every record written to a socket is counted per (tr_id, symbol) in `state.stats.record_ticks`,
per session (its client's address, when and why it ended) in `state.stats.ws_sessions`, and per
(app key, tr_id, symbol) in the app's `WsStats` (`app[WS_STATS]`), so tests can prove that a
client received everything that was sent, or measure what it lost when a session broke.
"Sent" means written to the socket: what the kernel still held when a client died is sent
and lost, as on the real service.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import secrets
import string
from collections import deque
from typing import Any

from aiohttp import WSMsgType, web

from kis_pipeline.simulator.ticks import SUPPORTED_TRS, TickGenerator, build_frames
from kis_pipeline.simulator.ws_settings import WS_SETTINGS, WS_STATS, WsAppSettings, WsStats

log = logging.getLogger(__name__)

_MAX_INBOUND = 64 * 1024

# OPSP codes: (rt_cd, msg1) as KIS sends them (SPEC §4.4; rt_cd "9" for JSON-level errors).
_REPLIES: dict[str, tuple[str, str]] = {
    "OPSP0000": ("0", "SUBSCRIBE SUCCESS"),
    "OPSP0001": ("0", "UNSUBSCRIBE SUCCESS"),
    "OPSP0002": ("1", "ALREADY IN SUBSCRIBE"),
    "OPSP0003": ("1", "UNSUBSCRIBE ERROR(not found!)"),
    "OPSP0008": ("1", "MAX SUBSCRIBE OVER"),
    "OPSP0011": ("1", "invalid approval : NOT FOUND"),
    "OPSP8991": ("1", "SUBSCRIBE ERROR : invalid tr_id"),
    "OPSP8993": ("9", "JSON PARSING ERROR : invalid tr_key"),
    "OPSP8996": ("9", "ALREADY IN USE appkey"),
    "OPSP8997": ("9", "JSON PARSING ERROR : invalid tr_type"),
    "OPSP8998": ("9", "JSON PARSING ERROR : invalid custtype"),
    "OPSP9991": ("9", "JSON PARSING ERROR : input not found"),
    "OPSP9992": ("9", "JSON PARSING ERROR : body not found"),
    "OPSP9997": ("9", "JSON PARSING ERROR : custtype not found"),
    "OPSP9998": ("9", "JSON PARSING ERROR : header not found"),
    "OPSP9999": ("9", "JSON PARSING ERROR : invalid json format"),
}


def reply_text(
    msg_cd: str, tr_id: str = "(null)", tr_key: str = "", output: dict[str, str] | None = None
) -> str:
    rt_cd, msg1 = _REPLIES[msg_cd]
    body: dict[str, Any] = {"rt_cd": rt_cd, "msg_cd": msg_cd, "msg1": msg1}
    if output is not None:
        body["output"] = output
    return json.dumps(
        {"header": {"tr_id": tr_id, "tr_key": tr_key, "encrypt": "N"}, "body": body},
        separators=(",", ":"),
    )


def _random_key() -> tuple[str, str]:
    """A session's AES key (32 lowercase letters) and iv (16 hex digits), like KIS's."""
    key = "".join(secrets.choice(string.ascii_lowercase) for _ in range(32))
    return key, secrets.token_hex(8)


class _Session:
    """One WebSocket connection: its registrations, outbound queue and heartbeat state."""

    def __init__(self, hub: _Hub, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.hub = hub
        self.ws = ws
        self.request = request
        self.app_key: str | None = None
        self.number: int | None = None  # in /sim/stats, once it holds an app key
        self.dropped: str | None = None
        self.registrations: set[tuple[str, str]] = set()
        self.key, self.iv = _random_key()
        # (text, tr_id, symbol, records); None asks the sender to drop the connection.
        self._queue: deque[tuple[str, str, str, int] | None] = deque()
        self._wakeup = asyncio.Event()
        self.backlog = 0
        self.closed = False
        self.drop_due = False  # the drop fault is due: drop at the next data frame
        self.ping_sent_at: float | None = None

    # ---- outbound ------------------------------------------------------------------------

    def send_text(self, text: str) -> None:
        self._queue.append((text, "", "", 0))
        self._wakeup.set()

    def send_frame(self, text: str, tr_id: str, symbol: str, records: int) -> None:
        if self.closed:
            return
        if self.drop_due:
            # The connection breaks with data on its way: this frame's trades happened on the
            # market, but the client never gets them (a REST client can still see them).
            self.drop("fault_ws_drop_every_s")
            return
        self.backlog += records
        if self.backlog > self.hub.settings.max_backlog_records:
            self.drop("slow_consumer")
            return
        self._queue.append((text, tr_id, symbol, records))
        self._wakeup.set()

    def drop_after_flush(self) -> None:
        self._queue.append(None)
        self._wakeup.set()

    async def sender(self) -> None:
        queue, ws, hub = self._queue, self.ws, self.hub
        try:
            while True:
                while not queue:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                item = queue.popleft()
                if item is None:
                    self.drop("rejected")
                    return
                text, tr_id, symbol, records = item
                await ws.send_str(text)
                if records:
                    self.backlog -= records
                    hub.count(self, tr_id, symbol, records)
        except (ConnectionError, RuntimeError) as exc:
            log.debug("WebSocket send failed: %s", exc)
            self.drop("send_failed")

    def drop(self, reason: str) -> None:
        """End the connection without a close frame, as a failing KIS session does."""
        if self.closed:
            return
        self.closed = True
        self.dropped = reason
        self.hub.stats.drops[reason] += 1
        self._queue.clear()
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    # ---- heartbeat and faults --------------------------------------------------------------

    async def heartbeat(self) -> None:
        settings = self.hub.settings
        loop = asyncio.get_running_loop()
        step = min(1.0, max(0.01, min(settings.ping_interval_s, settings.pong_timeout_s) / 4))
        next_ping = loop.time() + settings.ping_interval_s
        while not self.closed:
            await asyncio.sleep(step)
            now = loop.time()
            if self.ping_sent_at is not None and now - self.ping_sent_at > settings.pong_timeout_s:
                self.drop("pingpong_timeout")
                return
            if now >= next_ping:
                next_ping = now + settings.ping_interval_s
                stamp = self.hub.generator.clock.wall().strftime("%Y%m%d%H%M%S")
                self.send_text(
                    json.dumps(
                        {"header": {"tr_id": "PINGPONG", "datetime": stamp}},
                        separators=(",", ":"),
                    )
                )
                self.hub.stats.pingpong_sent += 1
                if self.ping_sent_at is None:
                    self.ping_sent_at = now

    async def drop_later(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.drop_due = True
        # Without data to cut, it drops anyway a moment later.
        await asyncio.sleep(max(0.5, 20 * self.hub.settings.batch_interval_s))
        self.drop("fault_ws_drop_every_s")

    def answered_ping(self) -> None:
        if self.ping_sent_at is not None:
            self.ping_sent_at = None
            self.hub.stats.pingpong_answered += 1

    # ---- inbound ---------------------------------------------------------------------------

    def on_text(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            self.reply("OPSP9999")
            return
        if not isinstance(message, dict):
            self.reply("OPSP9999")
            return
        header = message.get("header")
        if not isinstance(header, dict):
            self.reply("OPSP9998")
            return
        if header.get("tr_id") == "PINGPONG":
            self.answered_ping()
            return
        body = message.get("body")
        if not isinstance(body, dict):
            self.reply("OPSP9992")
            return
        request = body.get("input")
        if not isinstance(request, dict):
            self.reply("OPSP9991")
            return
        tr_id = str(request.get("tr_id") or "")
        tr_key = str(request.get("tr_key") or "")
        self.on_request(header, tr_id, tr_key)

    def on_request(self, header: dict[str, Any], tr_id: str, tr_key: str) -> None:
        hub = self.hub
        app_key = hub.state.approval_app_key(str(header.get("approval_key") or ""))
        if app_key is None:
            self.reply("OPSP0011", tr_id, tr_key)
            return
        if self.app_key is None:
            if not hub.state.open_ws_session(app_key):
                hub.stats.sessions_rejected += 1
                self.reply("OPSP8996")
                self.drop_after_flush()
                return
            self.app_key = app_key
            self.number = hub.state.ws_session_started(app_key, _peer(self.request))
            hub.stats.sessions_opened += 1
        elif app_key != self.app_key:
            # One session carries one app key; another key's session must be its own.
            self.reply("OPSP8996")
            return
        custtype = header.get("custtype")
        if not custtype:
            self.reply("OPSP9997", tr_id, tr_key)
            return
        if custtype not in ("P", "B"):
            self.reply("OPSP8998", tr_id, tr_key)
            return
        tr_type = header.get("tr_type")
        if tr_type not in ("1", "2"):
            self.reply("OPSP8997", tr_id, tr_key)
            return
        if tr_id not in SUPPORTED_TRS:
            self.reply("OPSP8991", tr_id, tr_key)
            return
        if not hub.generator.is_key(tr_id, tr_key):
            self.reply("OPSP8993", tr_id, tr_key)
            return
        feed = (tr_id, tr_key)
        output = {"iv": self.iv, "key": self.key}
        if tr_type == "1":
            if feed in self.registrations:
                self.reply("OPSP0002", tr_id, tr_key)
            elif len(self.registrations) >= hub.settings.max_registrations:
                self.reply("OPSP0008", tr_id, tr_key)
            else:
                # The ack is queued before the feed's first frame can be.
                self.reply("OPSP0000", tr_id, tr_key, output)
                self.registrations.add(feed)
                hub.attach(self, feed)
                if self.number is not None:
                    hub.state.ws_session_registered(self.number, len(self.registrations))
        elif feed in self.registrations:
            # Detached first, so no frame of this feed follows the ack.
            self.registrations.discard(feed)
            hub.detach(self, feed)
            self.reply("OPSP0001", tr_id, tr_key, output)
        else:
            self.reply("OPSP0003", tr_id, tr_key)

    def reply(
        self,
        msg_cd: str,
        tr_id: str = "(null)",
        tr_key: str = "",
        output: dict[str, str] | None = None,
    ) -> None:
        self.hub.stats.replies[msg_cd] += 1
        self.send_text(reply_text(msg_cd, tr_id or "(null)", tr_key, output))


class _Hub:
    """Everything one WebSocket app shares: sessions, feed subscribers, the tick pump."""

    def __init__(self, state: Any, settings: WsAppSettings) -> None:
        self.state = state
        self.settings = settings
        self.stats = WsStats()
        self.generator = TickGenerator(
            state.market, settings.tick_rate, extra_column=settings.extra_column
        )
        # REST's recent executions read the same tapes (SPEC §7.7).
        if hasattr(state, "tick_generator"):
            state.tick_generator = self.generator
        self.sessions: set[_Session] = set()
        self.subscribers: dict[tuple[str, str], set[_Session]] = {}
        self._pump_task: asyncio.Task[None] | None = None

    def attach(self, session: _Session, feed: tuple[str, str]) -> None:
        subscribers = self.subscribers.get(feed)
        if subscribers is None:
            subscribers = self.subscribers[feed] = set()
            self.generator.add_feed(*feed)
        subscribers.add(session)

    def detach(self, session: _Session, feed: tuple[str, str]) -> None:
        subscribers = self.subscribers.get(feed)
        if subscribers is None:
            return
        subscribers.discard(session)
        if not subscribers:
            del self.subscribers[feed]
            self.generator.remove_feed(*feed)

    def close_session(self, session: _Session) -> None:
        session.closed = True
        for feed in list(session.registrations):
            self.detach(session, feed)
        session.registrations.clear()
        if session.app_key is not None:
            self.state.close_ws_session(session.app_key)
        if session.number is not None:
            self.state.ws_session_ended(session.number, session.dropped)
        self.sessions.discard(session)

    def count(self, session: _Session, tr_id: str, symbol: str, records: int) -> None:
        self.stats.records[(session.app_key or "", tr_id, symbol)] += records
        self.stats.frames += 1
        # Looked up each time: SimState.reset_stats() replaces its stats object.
        record_ticks = getattr(getattr(self.state, "stats", None), "record_ticks", None)
        if record_ticks is not None:
            record_ticks(tr_id, symbol, records, session=session.number)

    async def pump(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.settings.batch_interval_s
        last = loop.time()
        while True:
            await asyncio.sleep(interval)
            now = loop.time()
            elapsed, last = now - last, now
            if not self.subscribers:
                continue
            for tr_id, symbol, records in self.generator.generate(elapsed):
                subscribers = self.subscribers.get((tr_id, symbol))
                if not subscribers:
                    continue
                for text, n in build_frames(tr_id, records):
                    for session in tuple(subscribers):
                        session.send_frame(text, tr_id, symbol, n)
                # Let the senders write between feeds, so a heavy round cannot starve them.
                await asyncio.sleep(0)

    async def start(self, app: web.Application) -> None:
        self._pump_task = asyncio.get_running_loop().create_task(self.pump())

    async def shutdown(self, app: web.Application) -> None:
        # Abrupt, like the other drops: a polite close would wait for clients that may not
        # be reading.
        for session in list(self.sessions):
            session.drop("shutdown")

    async def cleanup(self, app: web.Application) -> None:
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump_task


_HUB = web.AppKey("kis_ws_hub", _Hub)


def _peer(request: web.Request) -> str:
    """The client's address as `host:port`, which the client knows as its local address."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else ""


async def _websocket(request: web.Request) -> web.WebSocketResponse:
    hub = request.app[_HUB]
    # KIS's heartbeat is the PINGPONG text message, so protocol pings are answered by hand
    # and protocol pongs count as PINGPONG answers; no compression, like KIS.
    ws = web.WebSocketResponse(autoping=False, compress=False, max_msg_size=_MAX_INBOUND)
    await ws.prepare(request)
    session = _Session(hub, ws, request)
    hub.sessions.add(session)
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(session.sender()), loop.create_task(session.heartbeat())]
    if hub.settings.drop_every_s > 0:
        tasks.append(loop.create_task(session.drop_later(hub.settings.drop_every_s)))
    try:
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                session.on_text(msg.data)
            elif msg.type is WSMsgType.PING:
                await ws.pong(msg.data)
            elif msg.type is WSMsgType.PONG:
                session.answered_ping()
            elif msg.type is WSMsgType.BINARY:
                session.reply("OPSP9999")
            elif msg.type is WSMsgType.ERROR:
                break
    finally:
        hub.close_session(session)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return ws


def create_ws_app(state: Any, settings: WsAppSettings | None = None) -> web.Application:
    """The WebSocket app over a `SimState` (config, market, approval keys, sessions, stats)."""
    settings = settings or WsAppSettings.from_config(state.config)
    hub = _Hub(state, settings)
    app = web.Application()
    app[_HUB] = hub
    app[WS_STATS] = hub.stats
    app[WS_SETTINGS] = settings
    for path in ("/", "/tryitout", "/tryitout/{tr_id}"):
        app.router.add_get(path, _websocket)
    app.on_startup.append(hub.start)
    app.on_shutdown.append(hub.shutdown)
    app.on_cleanup.append(hub.cleanup)
    return app


def session_clock_date(app: web.Application) -> dt.date:
    """The session date the app's frames carry right now (BSOP_DATE)."""
    return app[_HUB].generator.clock.now()[0]
