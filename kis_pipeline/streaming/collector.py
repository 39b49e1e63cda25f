"""The tick collector: one KIS WebSocket session per app key, every frame into the spool.

One `Collector.run()` holds the app key's session until it is told to stop (duration, market
close, a signal) or meets an error it must not retry:

    approval key (shared token store) -> connect -> subscribe the desired set at a steady pace
    -> receive until the connection ends -> session_end -> pause (backoff) -> reconnect ...

The receive loop does as little as possible per message: take a sequence number and the receive
time, then
- data frame (`0|...`): hand the bytes to the spool writer as they are;
- encrypted frame (`1|...`): decrypt with the TR's key from its ack and spool the plain text
  (the key never reaches the disk); if it cannot be decrypted, spool it raw, to be counted;
- PINGPONG: answer at once with a pong frame carrying the received text (SPEC §15.3);
- an ack: to the subscription manager; anything else: spooled raw, to be counted.
It never touches the disk: when the writer's queue is full it waits for room, which stops
reading the socket and lets TCP hold the server back.

A watchdog ends a connection that has been silent (no data, no PINGPONG) for
`silence_timeout_s`, and stops everything if the spool writer failed. Session starts and ends
(with the reason) and subscription results are written to the spool as control records, in
order with the frames, so persistence builds `stream_sessions` from the same segments.

Errors that must not be retried: OPSP8996 (another session holds the app key) on the first
connection, or repeatedly after a reconnect; an approval key refused even when fresh; a failed
spool. Everything else (refused connections, drops, silence) reconnects with capped exponential
backoff and jitter (backoff.py) and resubscribes the whole set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import websockets
from websockets.asyncio.client import ClientConnection, connect

from kis_pipeline.kis.errors import (
    AppKeyInUse,
    ApprovalKeyRejected,
    CredentialsRejected,
    KisConfigError,
    KisError,
    PayloadError,
)
from kis_pipeline.kis.ws import Ack, PingPong, parse_message
from kis_pipeline.kis.ws.crypto import decrypt_payload
from kis_pipeline.streaming.backoff import Backoff
from kis_pipeline.streaming.errors import ApprovalRefused, SessionRefused, SpoolFailed
from kis_pipeline.streaming.gaps import (
    STOPPED,
    TRADE_PREFIX,
    GapKeeper,
    Previous,
    RecentExecutions,
)
from kis_pipeline.streaming.spool import DECRYPTED, RAW, Spool, new_id
from kis_pipeline.streaming.subscriptions import TRADES, FeedPlan, SubscriptionManager
from kis_pipeline.streaming.writer import SealedSegment, SpoolWriter, WriterConfig

log = logging.getLogger(__name__)

MiB = 1024 * 1024
_PONG_MAX = 125  # a WebSocket control frame carries at most 125 bytes

# (stale approval key or None) -> approval key; blocking (REST), run in a worker thread.
ApprovalSource = Callable[[str | None], str]


@dataclass(frozen=True)
class CollectorConfig:
    ws_url: str
    plan: FeedPlan
    custtype: str = "P"
    writer: WriterConfig = field(default_factory=WriterConfig)
    # KIS's samples pace registrations 0.05 s apart on real, 0.5 s on mock (SPEC §15.8).
    subscribe_gap_s: float = 0.05
    ack_timeout_s: float = 10.0
    # "No frame of any kind for a few minutes": KIS sends PINGPONG every minute or two.
    silence_timeout_s: float = 180.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    # A session that carried data this long resets the backoff.
    stable_after_s: float = 30.0
    connect_timeout_s: float = 10.0
    # Graceful stop: release every registration (waiting for the acks) before closing. An
    # overloaded server answers behind its backlog of frames (the simulator drops a client more
    # than 10 s behind), so allow for that.
    drain_timeout_s: float = 30.0
    # OPSP8996 after a reconnect: our own previous session may still be closing on the server.
    in_use_retries: int = 3
    # Also retry OPSP8996 on the first connection: set when this key's previous collector died
    # (recovery found its open segments), since KIS may not have noticed yet.
    previous_session_may_linger: bool = False
    max_message_bytes: int = 16 * MiB
    # After a hole, how long to wait for a symbol's first trade before refilling it (gaps.py).
    refill_wait_s: float = 2.0


@dataclass
class CollectorStats:
    sessions: int = 0
    connect_failures: int = 0
    frames: int = 0  # messages spooled (data frames and raw oddities)
    bytes: int = 0
    pings: int = 0
    raw_kept: int = 0  # messages that were neither data frames nor JSON we understand
    undecrypted: int = 0
    backpressure_waits: int = 0
    last_frame_ns: int = 0
    subscriptions: int = 0
    stable_sessions: int = 0
    subscribed_sessions: int = 0  # sessions that held at least one registration


@dataclass
class CollectorSummary:
    collector_id: str
    stop_reason: str
    sessions: int
    frames: int
    records: int
    segments: int
    bytes: int
    pings: int
    problems: list[str]
    records_by_tr: dict[str, int]
    queue_peak_bytes: int
    backpressure_waits: int
    raw_kept: int
    elapsed_s: float
    gaps: list[dict[str, Any]] = field(default_factory=list)  # gap / gap_refilled records


@dataclass
class _SessionResult:
    connected: bool
    reason: str
    stable: bool = False
    error: BaseException | None = None


class _Live:
    """One open connection's bookkeeping."""

    def __init__(self, ws: ClientConnection, session_id: str) -> None:
        self.ws = ws
        self.session_id = session_id
        self.started = time.monotonic()
        self.last = self.started
        self.frames = 0
        self.reason = ""
        self.error: BaseException | None = None


def ws_endpoint(ws_url: str) -> str:
    """The URL to connect to: KIS's samples use `<base>/tryitout` when no path is given."""
    parts = urlsplit(ws_url)
    return ws_url if parts.path not in ("", "/") else ws_url.rstrip("/") + "/tryitout"


class Collector:
    """See the module docstring. Create it, `await run(...)`, read the summary."""

    def __init__(
        self,
        config: CollectorConfig,
        *,
        spool: Spool,
        key_id: str,
        approval: ApprovalSource,
        on_seal: Callable[[SealedSegment], None] | None = None,
        echo: Callable[[str], None] | None = None,
        recent: RecentExecutions | None = None,
        previous: Previous | None = None,
    ) -> None:
        self.config = config
        self.spool = spool
        self.key_id = key_id
        self.collector_id = new_id("col")
        self.url = ws_endpoint(config.ws_url)
        self._approval = approval
        self._echo = echo or (lambda line: None)
        self.subs = SubscriptionManager(
            config.plan,
            gap_s=config.subscribe_gap_s,
            ack_timeout_s=config.ack_timeout_s,
            custtype=config.custtype,
        )
        self.writer = SpoolWriter(
            spool,
            key_id,
            collector_id=self.collector_id,
            config=config.writer,
            on_seal=on_seal,
            status=self._status,
        )
        self.stats = CollectorStats()
        # Holes in the stream and their refill from REST (`recent`); `previous`: those the
        # previous collectors of this key left.
        self.gaps = GapKeeper(
            self._gap_control, recent=recent, previous=previous, first_wait_s=config.refill_wait_s
        )
        self.stop_reason = ""
        self._seq = 0
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._live: _Live | None = None
        self._loop_ns = time.time_ns()

    # -- control ------------------------------------------------------------------------------

    def stop(self, reason: str = "stopped") -> None:
        """Ask the collector to finish (call on its event loop; see stop_threadsafe)."""
        if not self.stop_reason:
            self.stop_reason = reason
        if self._stop is not None:
            self._stop.set()

    @property
    def connected(self) -> bool:
        return self._live is not None

    def _status(self) -> dict[str, Any]:
        live = self._live
        return {
            "loop_ns": self._loop_ns,
            "connected": live is not None,
            "subscriptions": len(self.subs.active),
            "frames_received": self.stats.frames,
            "last_frame_ns": self.stats.last_frame_ns,
        }

    # -- main loop ----------------------------------------------------------------------------

    async def run(
        self, *, duration_s: float | None = None, until_ns: int | None = None
    ) -> CollectorSummary:
        """Collect until stopped, `duration_s` passes, or wall-clock `until_ns` is reached."""
        loop = self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if self.stop_reason:
            self._stop.set()
        started = time.monotonic()
        timers = []
        if duration_s is not None:
            timers.append(loop.call_later(max(0.0, duration_s), self.stop, "duration"))
        if until_ns is not None:
            delay = max(0.0, (until_ns - time.time_ns()) / 1e9)
            timers.append(loop.call_later(delay, self.stop, "market_close"))
        self.writer.start()
        self.gaps.start()
        pulse = loop.create_task(self._pulse())
        fatal: BaseException | None = None
        try:
            fatal = await self._sessions()
        finally:
            self.gaps.stopped()
            for timer in timers:
                timer.cancel()
            pulse.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pulse
            await asyncio.to_thread(self.writer.stop)
        if fatal is None and self.writer.error is not None:
            fatal = SpoolFailed(f"cannot write to the spool: {self.writer.error}")
        if fatal is not None:
            self.stop_reason = self.stop_reason or "error"
            raise fatal
        wstats = self.writer.stats
        return CollectorSummary(
            collector_id=self.collector_id,
            stop_reason=self.stop_reason or "stopped",
            sessions=self.stats.sessions,
            frames=wstats.frames,
            records=wstats.records,
            segments=wstats.segments,
            bytes=wstats.bytes,
            pings=self.stats.pings,
            problems=[str(p) for p in self.subs.problems],
            records_by_tr=dict(wstats.records_by_tr or {}),
            queue_peak_bytes=wstats.queue_peak_bytes,
            backpressure_waits=self.stats.backpressure_waits,
            raw_kept=self.stats.raw_kept,
            elapsed_s=time.monotonic() - started,
            gaps=list(self.gaps.recorded),
        )

    async def _sessions(self) -> BaseException | None:
        """Sessions one after another until stopped; returns the error that ended them."""
        assert self._stop is not None
        config = self.config
        backoff = Backoff(config.backoff_base_s, config.backoff_cap_s)
        approval: str | None = None
        refreshed = False
        in_use = 0
        attempt = 0
        while not self._stop.is_set():
            if self.writer.failed:
                return SpoolFailed(f"cannot write to the spool: {self.writer.error}")
            result: _SessionResult
            try:
                if approval is None:
                    approval = await asyncio.to_thread(self._approval, None)
            except (CredentialsRejected, KisConfigError) as exc:
                return exc
            except KisError as exc:
                result = _SessionResult(False, f"approval key unavailable: {exc}")
            else:
                attempt += 1
                result = await self._session(approval, attempt)
            if self._stop.is_set():
                break
            error = result.error
            if isinstance(error, SpoolFailed):
                return error
            if isinstance(error, AppKeyInUse):
                in_use += 1
                # Refused before ever holding a session: someone else has the key. After one of
                # ours, it may be our own old session that KIS has not closed yet.
                first = self.stats.subscribed_sessions == 0
                if first and not config.previous_session_may_linger:
                    in_use = config.in_use_retries + 1
                if in_use > config.in_use_retries:
                    return SessionRefused(
                        "KIS refused the WebSocket session: another session is already open "
                        "with this app key (OPSP8996). Stop the other collector (on any "
                        "machine) or use another app key; KIS allows one session per key."
                    )
            elif isinstance(error, ApprovalKeyRejected):
                if refreshed:
                    return ApprovalRefused(
                        f"KIS refused a freshly issued WebSocket approval key ({error.msg_cd} "
                        f"{error.msg}); check that KIS_APP_KEY/KIS_APP_SECRET belong to KIS_ENV"
                    )
                try:
                    approval = await asyncio.to_thread(self._approval, approval)
                except KisError as exc:
                    return exc
                refreshed = True
            else:
                if result.connected and error is None:
                    in_use = 0
                if result.stable:
                    backoff.reset()
                    refreshed = False
            if not result.connected:
                self.stats.connect_failures += 1
            delay = backoff.next_delay()
            self._echo(f"session ended ({result.reason}); reconnecting in {delay:.1f} s")
            log.warning("session ended (%s); reconnecting in %.1f s", result.reason, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
        return None

    async def _session(self, approval: str, attempt: int) -> _SessionResult:
        config = self.config
        try:
            ws = await connect(
                self.url,
                ping_interval=None,  # KIS's heartbeat is its PINGPONG message
                compression=None,
                max_size=config.max_message_bytes,
                open_timeout=config.connect_timeout_s,
                close_timeout=2.0,
                user_agent_header="kis-pipeline",
            )
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
            return _SessionResult(False, f"connect failed: {exc or type(exc).__name__}")
        loop = asyncio.get_running_loop()
        live = _Live(ws, new_id("ses"))
        started_ns = time.time_ns()
        self._control(
            {
                "type": "session_start",
                "session_id": live.session_id,
                "started_ns": started_ns,
                "collector_id": self.collector_id,
                "url": self.url,
                "attempt": attempt,
                # What the server knows this session by (its peer address).
                "local_address": _address(ws),
            }
        )
        self.stats.sessions += 1
        self.subs.reset()
        self.gaps.session_started()
        self._live = live
        self._echo(f"connected ({live.session_id}), subscribing {len(self.subs.desired)} feeds")
        receiver = loop.create_task(self._receive(live))
        subscriber: asyncio.Task[Any] | None = loop.create_task(self._subscribe(live, approval))
        watchdog = loop.create_task(self._watch(live))
        assert self._stop is not None
        stopper = loop.create_task(self._stop.wait())
        graceful = False
        try:
            waiting: set[asyncio.Future[Any]] = {receiver, subscriber, watchdog, stopper}
            while True:
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                waiting -= done
                if subscriber in done:
                    error = subscriber.exception()
                    subscriber = None
                    if error is not None:
                        live.error = error
                        live.reason = _refusal_reason(error)
                        break
                if receiver in done or watchdog in done:
                    if not live.reason:
                        live.reason = _closed_reason(receiver)
                    break
                if stopper in done:
                    graceful = True
                    live.reason = f"stopped: {self.stop_reason or 'stopped'}"
                    break
            # The refusal may arrive together with the drop that follows it.
            if live.error is None and self.subs.fatal is not None:
                live.error = self.subs.fatal
                live.reason = _refusal_reason(self.subs.fatal)
            if graceful and not receiver.done():
                if subscriber is not None:
                    subscriber.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await subscriber
                    subscriber = None
                with contextlib.suppress(TimeoutError, websockets.exceptions.ConnectionClosed):
                    await asyncio.wait_for(
                        self.subs.unsubscribe_all(self._sender(live), approval),
                        config.drain_timeout_s,
                    )
        finally:
            for task in (subscriber, watchdog, stopper):
                if task is not None and not task.done():
                    task.cancel()
            if subscriber is not None:
                # It may be closing a hole: its gap record goes before this session's end.
                with contextlib.suppress(BaseException):
                    await subscriber
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 3.0)
            if not receiver.done():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(receiver), 3.0)
            if not receiver.done():
                receiver.cancel()
            with contextlib.suppress(BaseException):
                await receiver
            self._live = None
            ended_ns = time.time_ns()
            self._control(
                {
                    "type": "session_end",
                    "session_id": live.session_id,
                    "started_ns": started_ns,
                    "ended_ns": ended_ns,
                    "reason": live.reason,
                    "frames": live.frames,
                }
            )
            if not live.reason.startswith(STOPPED) and self.stats.last_frame_ns:
                self.gaps.session_ended(
                    live.session_id,
                    live.reason,
                    started_ns=started_ns,
                    last_frame_ns=self.stats.last_frame_ns,
                    frames=live.frames,
                )
        lasted = time.monotonic() - live.started
        stable = lasted >= config.stable_after_s and live.frames > 0
        if stable:
            self.stats.stable_sessions += 1
        return _SessionResult(True, live.reason, stable=stable, error=live.error)

    # -- tasks of one session -----------------------------------------------------------------

    def _sender(self, live: _Live) -> Callable[[str], Any]:
        async def send(text: str) -> None:
            await live.ws.send(text)

        return send

    async def _subscribe(self, live: _Live, approval: str) -> None:
        report = await self.subs.subscribe_all(self._sender(live), approval)
        self.stats.subscriptions = report.active
        if report.active:
            self.stats.subscribed_sessions += 1
        self._control(
            {
                "type": "subscriptions",
                "session_id": live.session_id,
                "active": report.active,
                "desired": len(self.subs.desired),
                "over_budget": [str(f) for f in self.subs.over_budget],
                "problems": [str(p) for p in report.problems],
            }
        )
        line = f"{report.active} of {len(self.subs.desired)} subscriptions active"
        if report.problems:
            line += "; refused: " + "; ".join(str(p) for p in report.problems)
        self._echo(line)
        if report.active:
            # The stream is back: close the hole the last session left, refilling its trades.
            trades = sorted(f.tr_key for f in self.subs.active if f.tr_id == TRADES)
            await self.gaps.close(live.session_id, trades)

    async def _receive(self, live: _Live) -> None:
        ws = live.ws
        recv = ws.recv
        put = self.writer.put
        stats = self.stats
        gaps = self.gaps
        wall_ns = time.time_ns
        mono = time.monotonic
        while True:
            data = await recv(decode=False)
            now = wall_ns()
            live.last = mono()
            if isinstance(data, str):  # only if a library change ever decodes for us
                data = data.encode()
            head = data[:1]
            if head == b"0":
                kind = RAW
                if data.startswith(TRADE_PREFIX):
                    # The newest (and, after a hole, the first) trade frame per symbol: what
                    # a refill from REST lines up with (gaps.py).
                    bar = data.find(b"|", len(TRADE_PREFIX))
                    symbol = data[bar + 1 : data.find(b"^", bar)]
                    gaps.last[symbol] = data
                    first = gaps.first
                    if first is not None and symbol not in first:
                        gaps.first_trade_of(symbol, data)
            elif head == b"1":
                kind, data = self._decrypt(data)
            else:
                if await self._on_json(live, data):
                    continue
                kind = RAW
                stats.raw_kept += 1
            self._seq += 1
            live.frames += 1
            stats.frames += 1
            stats.bytes += len(data)
            stats.last_frame_ns = now
            if not put(kind, self._seq, now, data):
                await self._wait_for_room()

    async def _wait_for_room(self) -> None:
        self.stats.backpressure_waits += 1
        while not await asyncio.to_thread(self.writer.wait_for_room, 1.0):
            if self.writer.failed:
                raise SpoolFailed(f"cannot write to the spool: {self.writer.error}")

    async def _on_json(self, live: _Live, data: bytes) -> bool:
        """Handle a non-data message; False means keep it raw in the spool."""
        try:
            message = parse_message(data.decode("utf-8"))
        except (PayloadError, UnicodeDecodeError):
            return False
        if isinstance(message, PingPong):
            self.stats.pings += 1
            if len(data) <= _PONG_MAX:
                await live.ws.pong(data)
            else:
                await live.ws.send(data.decode("utf-8"))
            return True
        if isinstance(message, Ack):
            self.subs.on_ack(message)
            return True
        return False

    def _decrypt(self, data: bytes) -> tuple[int, bytes]:
        parts = data.split(b"|", 3)
        if len(parts) == 4:
            key = self.subs.keys.get(parts[1].decode("ascii", "replace"))
            if key is not None:
                try:
                    plain = decrypt_payload(parts[3].decode("ascii"), *key)
                    return DECRYPTED, b"|".join((b"0", parts[1], parts[2], plain.encode()))
                except (ValueError, UnicodeDecodeError):
                    pass
        self.stats.undecrypted += 1
        return RAW, data

    async def _watch(self, live: _Live) -> None:
        timeout = self.config.silence_timeout_s
        step = max(0.01, min(1.0, timeout / 4))
        while True:
            await asyncio.sleep(step)
            if self.writer.failed:
                live.reason = f"spool_failed: {self.writer.error}"
                live.error = SpoolFailed(f"cannot write to the spool: {self.writer.error}")
                _abort(live.ws)
                return
            idle = time.monotonic() - live.last
            if idle > timeout:
                live.reason = f"silence: no message for {idle:.1f} s"
                _abort(live.ws)
                return

    async def _pulse(self) -> None:
        while True:
            self._loop_ns = time.time_ns()
            await asyncio.sleep(0.5)

    def _control(self, body: dict[str, Any]) -> None:
        self._seq += 1
        self.writer.put_control(self._seq, time.time_ns(), body)

    def _gap_control(self, body: dict[str, Any]) -> None:
        self._control(body)
        line = _describe_gap(body)
        if line:
            self._echo(line)


def _address(ws: ClientConnection) -> str:
    address = ws.local_address
    return f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address or "")


def _describe_gap(body: dict[str, Any]) -> str:
    if body["type"] == "gap":
        seconds = (body["ended_ns"] - body["started_ns"]) / 1e9
        line = f"gap of {seconds:.1f} s in the stream ({body['reason']})"
        return line + (f"; {body['note']}" if body.get("note") else "")
    if body["type"] == "gap_refilled":
        line = f"refilled {body['rest_rows']} trade(s) of the gap from REST"
        if body.get("note"):
            return f"{line}; {body['note']}"
        uncovered = body.get("rest_uncovered") or []
        if uncovered:
            return f"{line}; 30 executions did not reach back for {', '.join(uncovered)}"
        return f"{line}; every symbol covered"
    return ""


def _abort(ws: ClientConnection) -> None:
    transport = getattr(ws, "transport", None)
    if transport is not None:
        transport.abort()


def _refusal_reason(error: BaseException) -> str:
    if isinstance(error, AppKeyInUse):
        return f"app_key_in_use: {error.msg_cd} {error.msg}"
    if isinstance(error, ApprovalKeyRejected):
        return f"approval_key_rejected: {error.msg_cd} {error.msg}"
    if isinstance(error, websockets.exceptions.ConnectionClosed):
        return _describe_close(error)
    return f"error: {error}"


def _closed_reason(receiver: asyncio.Task[Any]) -> str:
    if receiver.cancelled():
        return "cancelled"
    error = receiver.exception() if receiver.done() else None
    if isinstance(error, websockets.exceptions.ConnectionClosed):
        return _describe_close(error)
    if isinstance(error, SpoolFailed):
        return f"spool_failed: {error}"
    if error is not None:
        return f"error: {type(error).__name__}: {error}"
    return "closed"


def _describe_close(error: websockets.exceptions.ConnectionClosed) -> str:
    if error.rcvd is None:
        return "connection lost: no close frame (dropped by the server or the network)"
    reason = f" {error.rcvd.reason}" if error.rcvd.reason else ""
    return f"closed by the server: code {error.rcvd.code}{reason}"
