"""`kis-pipeline stream [--duration SECONDS] [--symbols s1,s2] [--feeds trades,quotes]
[--venue KRX|NXT|KRX+NXT] [--overseas NAS:AAPL,HKS:00700] [--persist]` (DESIGN §3.3).

`run_stream` checks its input before it connects, prints progress while the collector runs and
a summary at the end, and returns the exit status: 0 when it stopped as asked (and, with
--persist, every sealed segment is in the warehouse), 1 when it could not run or persistence left
segments behind, 2 when the options are wrong (bad --duration, an unknown feed, malformed or
unlisted symbols, an unknown venue, more symbols than the app keys' WebSocket sessions can
hold).
"""

from __future__ import annotations

import math
import signal
import sys
from collections.abc import Callable, Sequence

from kis_pipeline.cli.symbol_checks import SymbolError, check_listed, check_spelling
from kis_pipeline.cli.writable import NotWritable, diagnose, places, reporting, require_writable
from kis_pipeline.kis.errors import KisConfigError, KisError
from kis_pipeline.kis.settings import KisSettings, parse_overseas_pairs, parse_venue
from kis_pipeline.kis.shared_state import require_reachable
from kis_pipeline.streaming.key_split import WatchlistTooLarge, check_capacity
from kis_pipeline.streaming.runner import StreamOptions, StreamOutcome, stream
from kis_pipeline.streaming.subscriptions import DEFAULT_TRS, FEEDS, MAX_REGISTRATIONS

BAD_OPTIONS = 2


def run_stream(
    settings: KisSettings,
    *,
    duration: float | None,
    symbols: list[str] | None,
    persist: bool,
    feeds: Sequence[str] | None = None,
    venue: str | None = None,
    overseas: str | None = None,
    seal_interval_s: float | None = None,
    echo: Callable[[str], None] | None = None,
) -> int:
    """The `stream` command; starts an embedded simulator first when KIS_ENV=sim needs one."""
    from kis_pipeline.defs.backend import backend

    out = echo or (lambda line: print(line, flush=True))
    try:
        check_duration(duration)
        check_spelling(symbols or ())
        trs = feed_trs(feeds or ())
        chosen = settings.venue if venue is None else parse_venue(venue, "--venue")
        abroad = (
            settings.overseas_tick_symbols
            if overseas is None
            else parse_overseas_pairs(overseas, "--overseas")
        )
        # Before anything starts: symbols beyond what the app keys' sessions hold.
        check_capacity(
            symbols or (),
            trs or DEFAULT_TRS,
            len(settings.per_key()),
            MAX_REGISTRATIONS,
            extra=len(dict.fromkeys(abroad)),
        )
    except (ValueError, WatchlistTooLarge, KisConfigError) as exc:
        return _error(exc, BAD_OPTIONS)
    options = StreamOptions(
        duration_s=duration,
        symbols=symbols or None,
        persist=persist,
        trs=trs or DEFAULT_TRS,
        venue=chosen,
        overseas=abroad,
        **({"seal_interval_s": seal_interval_s} if seal_interval_s else {}),
    )
    wanted = places(settings)
    try:
        require_writable(wanted)
        require_reachable(settings)
        with reporting(wanted), backend(settings) as live:
            check_listed(symbols or (), live)
            outcome = stream(live, options, echo=out)
    except SymbolError as exc:
        return _error(exc, BAD_OPTIONS)
    except NotWritable as exc:
        return _error(exc, 1)
    except KisError as exc:
        # The spool's writer reports a full disk as a stream error: say which folder and why.
        return _error(diagnose(wanted, [str(exc)]) or exc, 1)
    for line in summary_lines(outcome):
        out(line)
    failures = outcome.promoter.failures if outcome.promoter else {}
    if failures:
        return 1
    # Stopped by a signal after a clean stop: the status a shell expects of it (130, 143).
    stopped_by = getattr(signal.Signals, outcome.summary.stop_reason or "", None)
    return 128 + int(stopped_by) if stopped_by is not None else 0


def check_duration(duration: float | None) -> None:
    if duration is not None and not (math.isfinite(duration) and duration > 0):
        raise ValueError(
            f"--duration {duration:g} is not a positive number of seconds; "
            "leave it out to stream until the session ends"
        )


def feed_trs(feeds: Sequence[str]) -> tuple[str, ...]:
    """The TRs of the named feeds (`FEEDS`), in order; ValueError naming the valid ones."""
    unknown = [name for name in feeds if name not in FEEDS]
    if unknown:
        raise ValueError(
            f"unknown feed(s) {', '.join(unknown)}; valid feeds: {', '.join(FEEDS)} "
            "(e.g. --feeds trades,quotes)"
        )
    return tuple(dict.fromkeys(FEEDS[name] for name in feeds))


def _error(exc: Exception | str, status: int) -> int:
    print(f"error: {exc}", file=sys.stderr, flush=True)
    return status


def summary_lines(outcome: StreamOutcome) -> list[str]:
    s = outcome.summary
    lines = [
        f"stopped ({s.stop_reason}) after {s.elapsed_s:.1f} s: {s.sessions} session(s), "
        f"{s.frames} frames, {s.records} ticks "
        f"({', '.join(f'{k}={v}' for k, v in sorted(s.records_by_tr.items())) or 'none'}), "
        f"{s.segments} sealed segment(s), {s.bytes / 1e6:.1f} MB",
    ]
    if len(outcome.by_key) > 1:
        lines.extend(
            f"  {label}: {each.sessions} session(s), {each.records} ticks"
            for label, each in outcome.by_key.items()
        )
    if s.problems:
        lines.append("refused subscriptions: " + "; ".join(s.problems))
    if s.raw_kept:
        lines.append(f"{s.raw_kept} unrecognised message(s) kept raw in the spool")
    promoted = outcome.promoter
    if promoted is not None:
        lines.append(
            f"persisted {promoted.segments} segment(s): {promoted.records} rows, "
            f"{promoted.rejects} rejected (see stream_rejects)"
        )
        for segment, error in sorted(promoted.failures.items()):
            lines.append(f"NOT persisted {segment}: {error}")
    else:
        lines.append("sealed segments wait in the spool for the Dagster sensor (or use --persist)")
    return lines
