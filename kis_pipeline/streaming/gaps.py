"""Holes in the tick stream: where they are, and refilling their trades from REST (SPEC §7.7).

A hole opens when the WebSocket stops delivering without being asked to: the connection drops or
goes silent (the collector reconnects), or the collector dies (the next one recovers its spool
and connects again). It runs from the receive time of the last frame that reached the spool to
the moment the next session has its subscriptions back. What KIS sent in between is missing:
frames in flight at the drop or the kill (in the kernel's buffers, or read but not yet written),
and everything traded while nobody was connected. Each hole becomes a `gap` control record in
the spool when it closes, and persistence makes it a `stream_gaps` row. A collector stopped on
purpose leaves no hole; one stopped while its connection was down closes its hole then, unfilled.

Refilling. KIS answers a symbol's 30 newest executions over REST (inquire-ccnl) with time,
price, volume and the day's trade strength, but no id. Once the new session has its
subscriptions, for each symbol whose trades are subscribed the collector waits (briefly) for
the first trade the session delivers, asks for the 30 executions, and lines them up with what
the WebSocket delivered, matching trades on (time, price, volume, strength):
- the last trades delivered before the hole (up to three in a row) mark its start;
- the first trade delivered after it marks its end;
- the executions strictly between are the missing trades: they are spooled in a `rest_fill`
  record and stored in `trade_ticks` with `source = 'rest'`, so a trade the WebSocket did
  deliver is never stored twice.
A symbol is covered when both marks are found, in one place only (keys repeat), with the
trades between adding up to the volume the WebSocket's cumulative volume says traded in the
hole (or when it did not trade before the hole closed, or nothing traded in the hole).
When the 30 executions do not reach back to the start mark (or the marks fit in no way, or in
several), only those in a later second than the mark are stored and the symbol is listed as not
covered; the same when no delivered trade of the symbol is known from before the hole, or the
session date changed meanwhile. The gap row says whether every symbol was covered. Order book,
expected execution and market status have no REST history: their holes are recorded, not filled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import polars as pl

from kis_pipeline.streaming.recovery import LOST_REASON
from kis_pipeline.streaming.replay import replay
from kis_pipeline.streaming.spool import CONTROL, SUFFIX, Spool, SpoolCorrupt, new_id, read_segment
from kis_pipeline.streaming.trade_marks import (
    TRADE_PREFIXES,
    Trade,
    align,
    execution_trades,
    first_trade,
    frame_trades,
    last_trades,
)

log = logging.getLogger(__name__)

REST_TR_ID = "FHKST01010300"  # inquire-ccnl, the executions KIS serves over REST
STOPPED = "stopped:"  # the reason of every session the collector ended on purpose

T = TypeVar("T")

# symbol -> its newest executions, oldest first (kis.endpoints.fetch_recent_executions); blocking.
RecentExecutions = Callable[[str], pl.DataFrame]


@dataclass
class Hole:
    """A hole that has opened and not closed yet."""

    started_ns: int  # receive time of the last frame that reached the spool
    reason: str  # why the session before it ended
    session_before: str | None
    before: dict[str, list[Trade]] = field(default_factory=dict)  # last delivered trades
    gap_id: str = field(default_factory=lambda: new_id("gap"))


_ROW_FIELDS = ("time", "price", "change", "change_sign", "change_rate", "volume", "trade_strength")


@dataclass
class Previous:
    """What the previous collectors of a key left: holes closed but never recorded (each a
    `gap` record body to write), and the hole still open, which this collector closes."""

    closed: list[dict[str, Any]] = field(default_factory=list)
    open: Hole | None = None


class GapKeeper:
    """One collector's holes: opened at an unplanned session end, closed (and refilled) once a
    new session has its subscriptions. The collector's receive loop keeps `last` (symbol ->
    newest H0STCNT0 frame delivered) and, while a hole waits to close, calls `first_trade_of`
    with the first H0STCNT0 frame of each symbol in the new session (`first`).

    A hole is recorded at once when it closes (`gap`), and its refill afterwards
    (`gap_refilled`, and a `rest_fill` per symbol with rows): a collector killed during the
    refill still leaves its hole on record.
    """

    def __init__(
        self,
        control: Callable[[dict[str, Any]], None],
        *,
        recent: RecentExecutions | None = None,
        previous: Previous | None = None,
        first_wait_s: float = 2.0,
        venue: str = "KRX",
    ) -> None:
        self._control = control
        self._venue = venue
        self._recent = recent
        self._previous = previous or Previous()
        self.hole = self._previous.open
        self._base = dict(self.hole.before) if self.hole is not None else {}
        self.first_wait_s = first_wait_s
        self.last: dict[bytes, bytes] = {}
        self.first: dict[bytes, bytes] | None = None
        self._arrived: dict[bytes, asyncio.Event] = {}
        self.recorded: list[dict[str, Any]] = []  # gap and gap_refilled bodies written

    def start(self) -> None:
        """Record the holes earlier collectors closed without recording them."""
        for body in self._previous.closed:
            self._write(body)

    def session_started(self) -> None:
        self.first = {} if self.hole is not None else None
        self._arrived = {}

    def first_trade_of(self, symbol: bytes, payload: bytes) -> None:
        """The new session delivered its first trade frame of `symbol`."""
        if self.first is not None:
            self.first[symbol] = payload
            arrived = self._arrived.get(symbol)
            if arrived is not None:
                arrived.set()

    def session_ended(
        self, session_id: str, reason: str, *, started_ns: int, last_frame_ns: int, frames: int
    ) -> None:
        """An unplanned end opens a hole. With one open already, a session that delivered
        nothing leaves it open; one that delivered frames before its subscriptions were all
        back closed it when it began (unrefilled), and opens the next."""
        self.first = None
        if self.hole is not None:
            if not frames:
                return
            note = "the stream came back in part, then broke again"
            self._write(gap_record(self.hole, started_ns, session_id, refill=False, note=note))
        before = {**self._base, **last_trades(self.last.values())}
        self.hole = Hole(last_frame_ns or time.time_ns(), reason, session_id, before)

    def stopped(self) -> None:
        """The collector stops: a hole still open ends now, unrefilled."""
        hole = self.hole
        if hole is not None:
            note = "the collector stopped before the stream came back"
            self._write(gap_record(hole, time.time_ns(), None, refill=False, note=note))
            self.hole = None

    async def close(self, session_id: str, symbols: Sequence[str]) -> None:
        """The new session has its subscriptions: record the hole as closed, then refill the
        trades of `symbols` (those whose H0STCNT0 feed is active) when REST is available."""
        hole = self.hole
        if hole is None:
            return
        self.hole = None
        refill = self._recent is not None and bool(symbols)
        self._write(gap_record(hole, time.time_ns(), session_id, refill=refill))
        if not refill:
            self.first = None
            return
        fills = dict.fromkeys(symbols, (0, False))
        note: str | None = "interrupted: the session ended or the collector stopped"
        try:
            await asyncio.gather(*(self._fill(hole, s, fills) for s in symbols))
            note = None
        finally:
            self.first = None
            self._write(
                {
                    "type": "gap_refilled",
                    "gap_id": hole.gap_id,
                    "started_ns": hole.started_ns,
                    "symbols": len(fills),
                    "rest_rows": sum(n for n, _ in fills.values()),
                    "rest_covered": all(ok for _, ok in fills.values()),
                    "rest_uncovered": sorted(s for s, (_, ok) in fills.items() if not ok),
                    "note": note,
                }
            )

    async def _fill(self, hole: Hole, symbol: str, fills: dict[str, tuple[int, bool]]) -> None:
        """Refill `symbol`'s trades of `hole`; its outcome (rows, covered) goes to `fills`."""
        key = symbol.encode()
        if self.first is not None and key not in self.first:
            arrived = self._arrived.setdefault(key, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived.wait(), self.first_wait_s)
        frame = self.first.get(key) if self.first is not None else None
        after = first_trade(frame, symbol) if frame is not None else None
        # REST says no date: take the new session's, from any trade it delivered.
        day = after.day if after is not None else self._session_day()
        if not day:
            return
        assert self._recent is not None
        try:
            answer = await _in_daemon_thread(self._recent, symbol)
            fit = align(hole.before.get(symbol, []), after, execution_trades(answer, day))
        except Exception as exc:  # a refill that fails must not end the session it runs in
            log.warning("could not refill the trades of %s from REST: %s", symbol, exc)
            return
        rows = answer.slice(fit.start, fit.stop - fit.start)
        if rows.height:
            self._write(
                {
                    "type": "rest_fill",
                    "gap_id": hole.gap_id,
                    "symbol": symbol,
                    "tr_id": REST_TR_ID,
                    "venue": self._venue,
                    "day": day,
                    "covered": fit.covered,
                    "rows": rows.select(_ROW_FIELDS).to_dicts(),
                }
            )
        fills[symbol] = (rows.height, fit.covered)

    def _session_day(self) -> str:
        for payload in (self.first or {}).values():
            for _, trade in frame_trades(payload):
                return trade.day
        return ""

    def _write(self, body: dict[str, Any]) -> None:
        self._control(body)
        if body["type"] != "rest_fill":
            self.recorded.append(body)


async def _in_daemon_thread(function: Callable[[str], T], argument: str) -> T:
    """`function(argument)` in a thread of its own that nothing waits for: a collector told to
    stop must not linger while a REST call retries (asyncio.to_thread's executor is joined
    when the event loop closes)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(value: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)  # type: ignore[arg-type]

    def run() -> None:
        try:
            value, error = function(argument), None
        except BaseException as exc:  # handed to the awaiting task
            value, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=run, name="kis-refill", daemon=True).start()
    return await future


def gap_record(
    hole: Hole,
    ended_ns: int,
    session_after: str | None,
    *,
    refill: bool,
    note: str | None = None,
) -> dict[str, Any]:
    return {
        "type": "gap",
        "gap_id": hole.gap_id,
        "started_ns": hole.started_ns,
        "ended_ns": ended_ns,
        "reason": hole.reason,
        "session_before": hole.session_before,
        "session_after": session_after,
        "refill": refill,
        "note": note,
    }


@dataclass
class _Seen:
    """One session of a previous collector, as its segments tell it."""

    session_id: str
    started_ns: int
    last_ns: int = 0  # its last frame
    ended_ns: int | None = None
    reason: str | None = None
    subscribed_ns: int | None = None  # when its subscriptions were back


def previous_holes(spool: Spool, key_id: str, *, lookback: int = 8) -> Previous:
    """The holes the previous collectors of `key_id` left, from their newest `lookback`
    segments (after recovery sealed those of a dead one): every unplanned session end that no
    `gap` record follows. One followed by another session closed when that session had its
    subscriptions back (its collector died before recording it); the last one is still open."""
    names = sorted(
        {p.name for d in (spool.sealed_dir, spool.done_dir) if d.is_dir() for p in d.glob("*.seg")},
        reverse=True,
    )
    seen: dict[str, _Seen] = {}
    recorded: list[tuple[str, int, int]] = []  # (session before, start, end) of gap records
    before: dict[str, list[Trade]] = {}
    read = 0
    for name in names:
        if read >= lookback:
            break
        records = _read(spool, name.removesuffix(SUFFIX))
        if records is None or records.header().get("key_id") != key_id:
            continue
        read += 1
        _note_sessions(records, seen, recorded)
        frames = (
            payload
            for kind, payload in zip(records.kinds, records.payloads, strict=True)
            if kind != CONTROL and payload.startswith(TRADE_PREFIXES)
        )
        for symbol, trades in last_trades(frames).items():
            before.setdefault(symbol, trades)  # newest segment first: the newest trades win
    previous = Previous()
    pending: Hole | None = None
    for session in sorted(seen.values(), key=lambda s: s.started_ns):
        # Data flowed again: with its subscriptions back, or some frames at least.
        resumed = session.subscribed_ns or (session.started_ns if session.last_ns else None)
        if pending is not None and resumed:
            note = "recorded by a later collector: the one that closed it died first"
            after = session.session_id
            previous.closed.append(gap_record(pending, resumed, after, refill=False, note=note))
            pending = None
        reason = session.reason or LOST_REASON
        if pending is None and not reason.startswith(STOPPED) and not _in_gap(session, recorded):
            started = session.last_ns or session.ended_ns or session.started_ns
            pending = Hole(started, reason, session.session_id)
    if pending is not None:
        pending.before = before
        previous.open = pending
    return previous


def _in_gap(session: _Seen, recorded: Sequence[tuple[str, int, int]]) -> bool:
    """Whether a gap record covers the end of `session` (one that ended inside a hole being
    closed, such as a reconnect refused, has no gap of its own)."""
    end = session.ended_ns or 0
    return any(
        before == session.session_id or start <= end <= stop for before, start, stop in recorded
    )


def _note_sessions(
    records: Any, seen: dict[str, _Seen], recorded: list[tuple[str, int, int]]
) -> None:
    state = replay(records)
    for slice_ in state.sessions.values():
        entry = seen.setdefault(slice_.session_id, _Seen(slice_.session_id, slice_.started_ns))
        if slice_.started_ns and (not entry.started_ns or slice_.started_ns < entry.started_ns):
            entry.started_ns = slice_.started_ns
        entry.last_ns = max(entry.last_ns, slice_.last_ns or 0)
        if slice_.ended_ns is not None:
            entry.ended_ns, entry.reason = slice_.ended_ns, slice_.reason
    for position, body in records.controls():
        kind = body.get("type")
        if kind == "gap":
            before = str(body.get("session_before") or "")
            recorded.append((before, int(body["started_ns"]), int(body["ended_ns"])))
        elif kind == "subscriptions" and body.get("active") and body.get("session_id") in seen:
            seen[body["session_id"]].subscribed_ns = records.received_ns[position]


def _read(spool: Spool, segment_id: str) -> Any:
    path = spool.find(segment_id)  # persistence may move it from sealed/ to done/ meanwhile
    if path is None:
        return None
    try:
        return read_segment(path)
    except (FileNotFoundError, SpoolCorrupt):
        return None
