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
from typing import Any

import websockets

from kis_pipeline.kis.errors import (
    AppKeyInUse,
    ApprovalKeyRejected,
    CredentialsRejected,
    KisConfigError,
    KisError,
    PayloadError,
)
from kis_pipeline.kis.ws import Ack, PingPong, parse_message
from kis_pipeline.kis.ws.columns import TRADE_TRS
from kis_pipeline.streaming.backoff import Backoff
from kis_pipeline.streaming.collector_config import (
    ApprovalSource,
    CollectorConfig,
    CollectorStats,
    CollectorSummary,
)
from kis_pipeline.streaming.connection import (
    Live,
    SessionResult,
    abort,
    answer_pingpong,
    close_and_reap,
    decrypted,
    local_address,
    open_ws,
    sender,
    ws_endpoint,
)
from kis_pipeline.streaming.errors import ApprovalRefused, SessionRefused, SpoolFailed
from kis_pipeline.streaming.gaps import (
    STOPPED,
    GapKeeper,
    Previous,
    RecentExecutions,
)
from kis_pipeline.streaming.session_reasons import (
    closed_reason,
    describe_gap,
    refusal_reason,
)
from kis_pipeline.streaming.spool import DECRYPTED, RAW, Spool, new_id
from kis_pipeline.streaming.subscriptions import SubscriptionManager
from kis_pipeline.streaming.trade_marks import TRADE_PREFIX, TRADE_PREFIXES
from kis_pipeline.streaming.writer import SealedSegment, SpoolWriter

log = logging.getLogger(__name__)


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
            self._gap_control,
            recent=recent,
            previous=previous,
            first_wait_s=config.refill_wait_s,
            venue=config.venue,
        )
        self.stop_reason = ""
        self._seq = 0
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._live: Live | None = None
        self._loop_ns = time.time_ns()

    # -- control ------------------------------------------------------------------------------

    def stop(self, reason: str = "stopped") -> None:
        """Ask the collector to finish (call on its event loop)."""
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
        return CollectorSummary.of(
            self.collector_id,
            self.stop_reason or "stopped",
            self.stats,
            self.writer.stats,
            problems=[str(p) for p in self.subs.problems],
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
            result: SessionResult
            try:
                if approval is None:
                    approval = await asyncio.to_thread(self._approval, None)
            except (CredentialsRejected, KisConfigError) as exc:
                return exc
            except KisError as exc:
                result = SessionResult(False, f"approval key unavailable: {exc}")
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

    async def _session(self, approval: str, attempt: int) -> SessionResult:
        config = self.config
        try:
            ws = await open_ws(self.url, config.max_message_bytes, config.connect_timeout_s)
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
            return SessionResult(False, f"connect failed: {exc or type(exc).__name__}")
        loop = asyncio.get_running_loop()
        live = Live(ws, new_id("ses"))
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
                "local_address": local_address(ws),
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
                        live.reason = refusal_reason(error)
                        break
                if receiver in done or watchdog in done:
                    if not live.reason:
                        live.reason = closed_reason(receiver)
                    break
                if stopper in done:
                    graceful = True
                    live.reason = f"stopped: {self.stop_reason or 'stopped'}"
                    break
            # The refusal may arrive together with the drop that follows it.
            if live.error is None and self.subs.fatal is not None:
                live.error = self.subs.fatal
                live.reason = refusal_reason(self.subs.fatal)
            if graceful and not receiver.done():
                if subscriber is not None:
                    subscriber.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await subscriber
                    subscriber = None
                with contextlib.suppress(TimeoutError, websockets.exceptions.ConnectionClosed):
                    await asyncio.wait_for(
                        self.subs.unsubscribe_all(sender(live.ws), approval),
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
            await close_and_reap(ws, receiver)
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
        return SessionResult(True, live.reason, stable=stable, error=live.error)

    # -- tasks of one session -----------------------------------------------------------------

    async def _subscribe(self, live: Live, approval: str) -> None:
        report = await self.subs.subscribe_all(sender(live.ws), approval)
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
            trades = sorted(f.tr_key for f in self.subs.active if f.tr_id in TRADE_TRS)
            await self.gaps.close(live.session_id, trades)

    async def _receive(self, live: Live) -> None:
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
                if data.startswith(TRADE_PREFIXES):
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

    async def _on_json(self, live: Live, data: bytes) -> bool:
        """Handle a non-data message; False means keep it raw in the spool."""
        try:
            message = parse_message(data.decode("utf-8"))
        except (PayloadError, UnicodeDecodeError):
            return False
        if isinstance(message, PingPong):
            self.stats.pings += 1
            await answer_pingpong(live.ws, data)
            return True
        if isinstance(message, Ack):
            self.subs.on_ack(message)
            return True
        return False

    def _decrypt(self, data: bytes) -> tuple[int, bytes]:
        plain = decrypted(data, self.subs.keys)
        if plain is None:
            self.stats.undecrypted += 1
            return RAW, data
        return DECRYPTED, plain

    async def _watch(self, live: Live) -> None:
        timeout = self.config.silence_timeout_s
        step = max(0.01, min(1.0, timeout / 4))
        while True:
            await asyncio.sleep(step)
            if self.writer.failed:
                live.reason = f"spool_failed: {self.writer.error}"
                live.error = SpoolFailed(f"cannot write to the spool: {self.writer.error}")
                abort(live.ws)
                return
            idle = time.monotonic() - live.last
            if idle > timeout:
                live.reason = f"silence: no message for {idle:.1f} s"
                abort(live.ws)
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
        line = describe_gap(body)
        if line:
            self._echo(line)
