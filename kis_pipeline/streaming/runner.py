"""Run the collector the way the product does: locks, recovery, symbols, stop time, persistence.

Shared by `kis-pipeline stream` (cli.py) and the Dagster collector job, so both behave the same:
1. take the app key's collector locks (a second collector refuses to start, clearly);
2. recover what a previous collector of this key left in the spool (kill -9, power loss), and
   find the hole it left, which this collector closes and refills (gaps.py);
3. choose the symbols (watchlist.py) and plan the feeds within the 41-registration budget;
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

from kis_pipeline.common.clock import KST
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints import fetch_recent_executions
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.kis.state import pid_alive
from kis_pipeline.streaming.approval import approval_source
from kis_pipeline.streaming.collector import Collector
from kis_pipeline.streaming.collector_config import CollectorConfig, CollectorSummary
from kis_pipeline.streaming.errors import StreamError
from kis_pipeline.streaming.gaps import previous_holes
from kis_pipeline.streaming.locks import collector_locks
from kis_pipeline.streaming.market_hours import TradingCalendar, warehouse_lookup
from kis_pipeline.streaming.persist_thread import Promoter, PromoterStats
from kis_pipeline.streaming.recovery import RecoveryResult, recover
from kis_pipeline.streaming.spool import Spool
from kis_pipeline.streaming.subscriptions import DEFAULT_TRS, MAX_REGISTRATIONS, plan_feeds
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
    summary: CollectorSummary
    watchlist: Watchlist
    recovered: RecoveryResult
    stop_at: dt.datetime | None
    promoter: PromoterStats | None = None
    notes: list[str] = field(default_factory=list)


def collector_config(
    settings: KisSettings,
    options: StreamOptions,
    watchlist: Watchlist,
    *,
    after_crash: bool = False,
) -> CollectorConfig:
    if not settings.ws_url:
        raise StreamError("no KIS WebSocket URL: set KIS_WS_URL (or KIS_ENV=real/paper)")
    gap = options.subscribe_gap_s
    return CollectorConfig(
        ws_url=settings.ws_url,
        plan=plan_feeds(watchlist.symbols, options.trs, budget=options.budget),
        writer=WriterConfig(seal_interval_s=options.seal_interval_s),
        subscribe_gap_s=SUBSCRIBE_GAP_S.get(settings.env, 0.05) if gap is None else gap,
        silence_timeout_s=options.silence_timeout_s,
        backoff_base_s=options.backoff_base_s,
        backoff_cap_s=options.backoff_cap_s,
        previous_session_may_linger=after_crash,
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
            "KRX is closed now; the simulator plays a synthetic session, so streaming until "
            "stopped (Ctrl-C). Pass --duration SECONDS to stop on its own."
        )
        return None
    nxt = calendar.next_start(now)
    when = f"the next window opens {nxt:%Y-%m-%d %H:%M} KST" if nxt else "no trading day ahead"
    raise MarketClosed(
        f"the KRX market is closed now ({when}); pass --duration SECONDS to stream anyway"
    )


def stream(
    settings: KisSettings,
    options: StreamOptions,
    *,
    echo: Echo = print,
    stop_event: threading.Event | None = None,
) -> StreamOutcome:
    """Run one collector to its end; see the module docstring. Raises StreamError subclasses."""
    warehouse = Warehouse.at(
        settings.warehouse, catalog=settings.catalog, data_url=settings.data_url
    )
    spool = Spool.for_warehouse(settings.warehouse)
    key_id = settings.key_id
    calendar = TradingCalendar(warehouse_lookup(warehouse))
    with contextlib.ExitStack() as stack:
        stack.enter_context(collector_locks(settings.state_dir, spool.open_lock(key_id), key_id))
        recovered = recover(spool, key_id)
        if recovered.sealed:
            ended = ", ".join(recovered.sessions_ended) or "none"
            echo(
                f"recovered {len(recovered.sealed)} segment(s) a stopped collector left open "
                f"(sessions ended: {ended})"
            )
        stop_at = stop_time(settings, options, calendar, echo)
        client = stack.enter_context(KisClient(settings))
        watchlist = choose_symbols(
            settings,
            explicit=options.symbols,
            warehouse=warehouse,
            client=client,
            limit=options.budget,
        )
        after_crash = bool(recovered.sealed or recovered.deleted)
        config = collector_config(settings, options, watchlist, after_crash=after_crash)
        # A previous collector of this key that died (or lost its connection and was stopped)
        # left a hole: this one records it, and closes it once streaming, refilling its trades.
        previous = previous_holes(spool, key_id)
        plan = config.plan
        echo(
            f"streaming {len(plan.symbols)} symbols ({watchlist.source}) as {len(plan.feeds)} "
            f"registrations of {', '.join(options.trs)}"
            + (
                f"; {len(plan.over_budget)} more feed(s) left out by the {options.budget}-"
                "registration limit of a KIS session"
                if plan.over_budget
                else ""
            )
        )
        promoter = Promoter(warehouse, spool) if options.persist else None
        collector = Collector(
            config,
            spool=spool,
            key_id=key_id,
            approval=approval_source(client),
            on_seal=promoter.notify if promoter else None,
            echo=echo,
            recent=functools.partial(fetch_recent_executions, client),
            previous=previous,
        )
        if promoter is not None:
            promoter.start()
        try:
            summary = asyncio.run(_main(collector, options, stop_at, echo, promoter, stop_event))
        finally:
            promoted = promoter.finish() if promoter is not None else None
        return StreamOutcome(summary, watchlist, recovered, stop_at, promoted)
    raise AssertionError("unreachable")


async def _main(
    collector: Collector,
    options: StreamOptions,
    stop_at: dt.datetime | None,
    echo: Echo,
    promoter: Promoter | None,
    stop_event: threading.Event | None,
) -> CollectorSummary:
    loop = asyncio.get_running_loop()
    installed = []
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, _on_signal, loop, collector, signum)
                installed.append(signum)
    watchers = [loop.create_task(_progress(collector, options.progress_s, echo, promoter))]
    if stop_event is not None:
        watchers.append(loop.create_task(_watch_event(collector, stop_event)))
    owner = owner_pid()
    if owner is not None:
        watchers.append(loop.create_task(_watch_owner(collector, owner, echo)))
    until_ns = int(stop_at.timestamp() * 1e9) if stop_at is not None else None
    try:
        return await collector.run(duration_s=options.duration_s, until_ns=until_ns)
    finally:
        for task in watchers:
            task.cancel()
        for signum in installed:
            loop.remove_signal_handler(signum)


def _on_signal(loop: asyncio.AbstractEventLoop, collector: Collector, signum: int) -> None:
    collector.stop(signal.Signals(signum).name)
    # A second Ctrl-C interrupts for real.
    loop.remove_signal_handler(signum)


def owner_pid() -> int | None:
    """The process whose life bounds this collector's (`KIS_OWNER_PID`, set by `kis-pipeline
    dev` for everything it launches), if any."""
    raw = os.environ.get(OWNER_PID, "").strip()
    return int(raw) if raw.isdigit() else None


async def _watch_owner(collector: Collector, pid: int, echo: Echo) -> None:
    # A collector outliving the command that started it would hold the app key's only
    # WebSocket session and spool segments nobody persists.
    while pid_alive(pid):
        await asyncio.sleep(OWNER_POLL_S)
    echo(f"the process that started this collector (pid {pid}) is gone; stopping")
    collector.stop("owner gone")


async def _watch_event(collector: Collector, event: threading.Event) -> None:
    while not event.is_set():
        await asyncio.sleep(0.2)
    collector.stop("requested")


async def _progress(
    collector: Collector, every_s: float, echo: Echo, promoter: Promoter | None
) -> None:
    if every_s <= 0:
        return
    started = time.monotonic()
    while True:
        await asyncio.sleep(every_s)
        w = collector.writer.stats
        line = (
            f"{dt.datetime.now(KST):%H:%M:%S} "
            f"{'connected' if collector.connected else 'disconnected'} "
            f"subscriptions={len(collector.subs.active)} frames={w.frames} ticks={w.records} "
            f"({w.records / max(time.monotonic() - started, 1e-9):.0f}/s) "
            f"segments={w.segments} sessions={collector.stats.sessions}"
        )
        if promoter is not None:
            line += f" persisted={promoter.stats.records}"
        echo(line)
