"""Run the collector the way the product does: locks, recovery, symbols, stop time, persistence.

Shared by `kis-pipeline stream` (cli.py) and the Dagster collector job, so both behave the same:
1. take each app key's collector locks (a second collector refuses to start, clearly);
2. recover what a previous collector of each key left in the spool (kill -9, power loss), and
   find the hole it left, which this collector closes and refills (gaps.py);
3. choose the symbols (watchlist.py) and plan the feeds within the 41-registration budget of
   each app key's session, one collector per key when several are configured (key_split.py;
   symbols given for the stream that need more registrations than the keys hold fail here);
4. decide when to stop: after `duration_s`, at `until`, or at the end of today's KRX window
   (market_hours.py); outside the window on the simulator it runs until stopped, since the
   simulator plays a synthetic session at any hour; on KIS it refuses with the next start time;
5. collect, optionally persisting sealed segments in-process (`persist`), and stop cleanly on
   SIGINT/SIGTERM: release the subscriptions, seal the last segment, persist what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kis_pipeline.common.clock import KST
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints import fetch_recent_executions
from kis_pipeline.kis.settings import VENUE_CODES, KisSettings, key_label_of
from kis_pipeline.kis.state import pid_alive
from kis_pipeline.kis.ws.columns import tr_on_venue
from kis_pipeline.streaming.approval import approval_source
from kis_pipeline.streaming.collector import Collector
from kis_pipeline.streaming.collector_config import CollectorConfig, CollectorSummary
from kis_pipeline.streaming.errors import StreamError
from kis_pipeline.streaming.gaps import previous_holes
from kis_pipeline.streaming.key_split import check_capacity, split_plan
from kis_pipeline.streaming.locks import collector_locks
from kis_pipeline.streaming.market_hours import TradingCalendar, warehouse_lookup
from kis_pipeline.streaming.persist_thread import Promoter, PromoterStats
from kis_pipeline.streaming.recovery import RecoveryResult, recover
from kis_pipeline.streaming.spool import Spool
from kis_pipeline.streaming.subscriptions import (
    DEFAULT_TRS,
    MAX_REGISTRATIONS,
    FeedPlan,
    plan_feeds,
)
from kis_pipeline.streaming.watchlist import Watchlist, choose_symbols
from kis_pipeline.streaming.writer import WriterConfig
from kis_pipeline.warehouse import Warehouse

# KIS's samples pace registrations 0.05 s apart on real and 0.5 s on mock (SPEC §15.8).
SUBSCRIBE_GAP_S = {"real": 0.05, "paper": 0.5, "sim": 0.01}

Echo = Callable[[str], None]


class MarketClosed(StreamError):
    """Outside the KRX window without --duration."""


OWNER_PID = "KIS_OWNER_PID"
OWNER_POLL_S = 1.0


@dataclass(frozen=True)
class StreamOptions:
    duration_s: float | None = None
    symbols: Sequence[str] | None = None
    persist: bool = False
    trs: Sequence[str] = DEFAULT_TRS
    # KIS_VENUE: KRX, NXT or KRX+NXT; `trs` are named as KRX's and streamed on this venue.
    venue: str = "KRX"
    # (exchange, ticker) pairs whose delayed trades stream beside them (HDFSCNT0).
    overseas: Sequence[tuple[str, str]] = ()
    until: dt.datetime | None = None
    seal_interval_s: float = 5.0
    subscribe_gap_s: float | None = None
    silence_timeout_s: float = 180.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    progress_s: float = 10.0
    budget: int = MAX_REGISTRATIONS


@dataclass
class StreamOutcome:
    summary: CollectorSummary  # all the app keys' collectors together
    watchlist: Watchlist
    recovered: list[RecoveryResult]  # per app key
    stop_at: dt.datetime | None
    promoter: PromoterStats | None = None
    notes: list[str] = field(default_factory=list)
    # Per app key that streamed, by its label (`KisSettings.key_label`), in the keys' order.
    by_key: dict[str, CollectorSummary] = field(default_factory=dict)


def collector_config(
    settings: KisSettings,
    options: StreamOptions,
    plan: FeedPlan,
    *,
    after_crash: bool = False,
) -> CollectorConfig:
    if not settings.ws_url:
        raise StreamError("no KIS WebSocket URL: set KIS_WS_URL (or KIS_ENV=real/paper)")
    gap = options.subscribe_gap_s
    return CollectorConfig(
        ws_url=settings.ws_url,
        plan=plan,
        writer=WriterConfig(seal_interval_s=options.seal_interval_s),
        subscribe_gap_s=SUBSCRIBE_GAP_S.get(settings.env, 0.05) if gap is None else gap,
        silence_timeout_s=options.silence_timeout_s,
        backoff_base_s=options.backoff_base_s,
        backoff_cap_s=options.backoff_cap_s,
        previous_session_may_linger=after_crash,
        venue=options.venue,
    )


def stop_time(
    settings: KisSettings, options: StreamOptions, calendar: TradingCalendar, echo: Echo
) -> dt.datetime | None:
    """When to stop (None = until stopped); see the module docstring."""
    if options.duration_s is not None:
        return None
    if options.until is not None:
        return options.until
    now = dt.datetime.now(KST)
    end = calendar.session_end(now)
    if end is not None:
        return end
    if settings.env == "sim":
        echo(
            f"{options.venue} is closed now; the simulator plays a synthetic session, so "
            "streaming until stopped (Ctrl-C). Pass --duration SECONDS to stop on its own."
        )
        return None
    nxt = calendar.next_start(now)
    when = f"the next window opens {nxt:%Y-%m-%d %H:%M} KST" if nxt else "no trading day ahead"
    raise MarketClosed(
        f"the {options.venue} market is closed now ({when}); pass --duration SECONDS to stream "
        "anyway"
    )


def stream(
    settings: KisSettings,
    options: StreamOptions,
    *,
    echo: Echo = print,
    stop_event: threading.Event | None = None,
) -> StreamOutcome:
    """Run one collector per app key to its end (one key: one collector); see the module
    docstring and key_split.py. Raises StreamError subclasses."""
    keys = settings.per_key()
    trs = tuple(tr_on_venue(tr, options.venue) for tr in options.trs)
    overseas = tuple(dict.fromkeys(options.overseas))
    check_capacity(
        _normalized(options.symbols or ()), trs, len(keys), options.budget, extra=len(overseas)
    )
    warehouse = Warehouse.at(
        settings.warehouse, catalog=settings.catalog, data_url=settings.data_url
    )
    spool = Spool.for_warehouse(settings.warehouse)
    calendar = TradingCalendar(warehouse_lookup(warehouse), venue=options.venue)
    with contextlib.ExitStack() as stack:
        recovered = [_lock_and_recover(stack, settings.state_dir, spool, k, echo) for k in keys]
        stop_at = stop_time(settings, options, calendar, echo)
        clients = [stack.enter_context(KisClient(each)) for each in keys]
        budget = options.budget * len(keys)
        watchlist = choose_symbols(
            settings,
            explicit=options.symbols,
            warehouse=warehouse,
            client=clients[0],
            limit=budget,
        )
        plan = plan_feeds(watchlist.symbols, trs, budget=budget, overseas=overseas)
        limit = (
            f"{options.budget}-registration limit of a KIS session"
            if len(keys) == 1
            else f"{options.budget}-registration limit of each of {len(keys)} KIS sessions"
        )
        abroad = f" and {len(overseas)} overseas tickers' delayed trades" if overseas else ""
        echo(
            f"streaming {len(plan.symbols) - len(overseas)} symbols ({watchlist.source}){abroad} "
            f"as {len(plan.feeds)} registrations of {', '.join(trs)}"
            + (
                f"; {len(plan.over_budget)} more feed(s) left out by the {limit}"
                if plan.over_budget
                else ""
            )
        )
        shares = split_plan(plan, options.budget)
        if len(keys) > 1:
            used = zip(keys, shares, strict=False)
            idle = len(keys) - len(shares)
            echo(
                "one session per app key: "
                + ", ".join(f"{k.key_label} {len(s.feeds)} registrations" for k, s in used)
                + (f"; {idle} key(s) not needed" if idle else "")
            )
        promoter = Promoter(warehouse, spool) if options.persist else None
        collectors = [
            _collector(
                settings=each,
                config=collector_config(
                    each, options, share, after_crash=bool(found.sealed or found.deleted)
                ),
                spool=spool,
                client=client,
                market=VENUE_CODES[options.venue],
                promoter=promoter,
                echo=echo if len(keys) == 1 else _prefixed(echo, each.key_label),
            )
            # The keys past the last share open no session (key_split.py).
            for each, client, share, found in zip(keys, clients, shares, recovered, strict=False)
        ]
        if promoter is not None:
            promoter.start()
        try:
            summaries = asyncio.run(_main(collectors, options, stop_at, echo, promoter, stop_event))
        finally:
            promoted = promoter.finish() if promoter is not None else None
        return StreamOutcome(
            CollectorSummary.combined(summaries),
            watchlist,
            recovered,
            stop_at,
            promoted,
            by_key={k.key_label: s for k, s in zip(keys, summaries, strict=False)},
        )
    raise AssertionError("unreachable")


def _normalized(symbols: Sequence[str]) -> list[str]:
    return [s.strip().upper() for s in symbols if s and s.strip()]


def _lock_and_recover(
    stack: contextlib.ExitStack, state_dir: Path, spool: Spool, key: KisSettings, echo: Echo
) -> RecoveryResult:
    """Take `key`'s collector locks for the life of `stack`, and seal what a previous collector
    of that key left open (kill -9, power loss)."""
    key_id = key.key_id
    stack.enter_context(collector_locks(state_dir, spool.open_lock(key_id), key_id))
    recovered = recover(spool, key_id)
    if recovered.sealed:
        ended = ", ".join(recovered.sessions_ended) or "none"
        echo(
            f"recovered {len(recovered.sealed)} segment(s) a stopped collector left open "
            f"(sessions ended: {ended})"
        )
    return recovered


def _collector(
    *,
    settings: KisSettings,
    config: CollectorConfig,
    spool: Spool,
    client: KisClient,
    market: str,
    promoter: Promoter | None,
    echo: Echo,
) -> Collector:
    """The collector of one app key: its approval keys and refills come from its own client."""
    return Collector(
        config,
        spool=spool,
        key_id=settings.key_id,
        approval=approval_source(client),
        on_seal=promoter.notify if promoter else None,
        echo=echo,
        # The venue's own executions (FID_COND_MRKT_DIV_CODE J, NX or UN) refill its trades.
        recent=functools.partial(fetch_recent_executions, client, market=market),
        # A previous collector of this key that died (or lost its connection and was stopped)
        # left a hole: this one records it, and closes it once streaming, refilling its trades.
        previous=previous_holes(spool, settings.key_id),
    )


def _prefixed(echo: Echo, label: str) -> Echo:
    return lambda line: echo(f"{label}: {line}")


async def _main(
    collectors: list[Collector],
    options: StreamOptions,
    stop_at: dt.datetime | None,
    echo: Echo,
    promoter: Promoter | None,
    stop_event: threading.Event | None,
) -> list[CollectorSummary]:
    loop = asyncio.get_running_loop()
    installed = []
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, _on_signal, loop, collectors, signum)
                installed.append(signum)
    watchers = [loop.create_task(_progress(collectors, options.progress_s, echo, promoter))]
    if stop_event is not None:
        watchers.append(loop.create_task(_watch_event(collectors, stop_event)))
    owner = owner_pid()
    if owner is not None:
        watchers.append(loop.create_task(_watch_owner(collectors, owner, echo)))
    until_ns = int(stop_at.timestamp() * 1e9) if stop_at is not None else None
    try:
        return await _run_all(collectors, options.duration_s, until_ns)
    finally:
        for task in watchers:
            task.cancel()
        for signum in installed:
            loop.remove_signal_handler(signum)


async def _run_all(
    collectors: list[Collector], duration_s: float | None, until_ns: int | None
) -> list[CollectorSummary]:
    """Every collector to its end; the first one's error stops the others (cleanly: their
    subscriptions released, their last segments sealed) and is raised once they are done."""
    tasks = [
        asyncio.create_task(c.run(duration_s=duration_s, until_ns=until_ns)) for c in collectors
    ]
    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    failed = [(t, c) for t, c in zip(tasks, collectors, strict=True) if t in done and t.exception()]
    if not failed:
        return [t.result() for t in tasks]
    _stop_all(collectors, "another app key's collector failed")
    await asyncio.wait(tasks)
    task, collector = failed[0]
    error = task.exception()
    assert error is not None
    if len(collectors) == 1:
        raise error
    # Say which key: the others are fine, and the fix (stop its other session...) is its own.
    raise StreamError(f"app key {key_label_of(collector.key_id)}: {error}") from error


def _stop_all(collectors: list[Collector], reason: str) -> None:
    for collector in collectors:
        collector.stop(reason)


def _on_signal(loop: asyncio.AbstractEventLoop, collectors: list[Collector], signum: int) -> None:
    _stop_all(collectors, signal.Signals(signum).name)
    # A second Ctrl-C interrupts for real.
    loop.remove_signal_handler(signum)


def owner_pid() -> int | None:
    """The process whose life bounds this collector's (`KIS_OWNER_PID`, set by `kis-pipeline
    dev` for everything it launches), if any."""
    raw = os.environ.get(OWNER_PID, "").strip()
    return int(raw) if raw.isdigit() else None


async def _watch_owner(collectors: list[Collector], pid: int, echo: Echo) -> None:
    # A collector outliving the command that started it would hold the app key's only
    # WebSocket session and spool segments nobody persists.
    while pid_alive(pid):
        await asyncio.sleep(OWNER_POLL_S)
    echo(f"the process that started this collector (pid {pid}) is gone; stopping")
    _stop_all(collectors, "owner gone")


async def _watch_event(collectors: list[Collector], event: threading.Event) -> None:
    while not event.is_set():
        await asyncio.sleep(0.2)
    _stop_all(collectors, "requested")


async def _progress(
    collectors: list[Collector], every_s: float, echo: Echo, promoter: Promoter | None
) -> None:
    if every_s <= 0:
        return
    started = time.monotonic()
    while True:
        await asyncio.sleep(every_s)
        stats = [c.writer.stats for c in collectors]
        records = sum(w.records for w in stats)
        connected = sum(c.connected for c in collectors)
        state = "connected" if connected == len(collectors) else "disconnected"
        if len(collectors) > 1:
            state += f" {connected}/{len(collectors)}"
        line = (
            f"{dt.datetime.now(KST):%H:%M:%S} {state} "
            f"subscriptions={sum(len(c.subs.active) for c in collectors)} "
            f"frames={sum(w.frames for w in stats)} ticks={records} "
            f"({records / max(time.monotonic() - started, 1e-9):.0f}/s) "
            f"segments={sum(w.segments for w in stats)} "
            f"sessions={sum(c.stats.sessions for c in collectors)}"
        )
        if promoter is not None:
            line += f" persisted={promoter.stats.records}"
        echo(line)
