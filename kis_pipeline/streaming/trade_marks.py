"""Lining up a hole's REST executions with the trades the WebSocket delivered (SPEC §7.7).

KIS answers a symbol's 30 newest executions over REST (inquire-ccnl) with time, price, volume
and the day's trade strength, but no id, so trades are matched on those four: the last trades
delivered before a hole (up to three in a row) mark its start, the first trade delivered after
it marks its end, and the executions strictly between are the missing trades. Keys repeat, so a
fit must be the only one, and where the WebSocket's cumulative volume says how much traded in
the hole, the trades between the marks must add up to it (`streaming.gaps` says what is done
with a symbol covered or not).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import polars as pl

from kis_pipeline.kis.ws.columns import TRADE_TRS

TRADE_PREFIX = b"0|H0STCNT0|"
# Trade frames of every venue: the same layout up to the positions below (SPEC §15.6).
TRADE_PREFIXES: tuple[bytes, ...] = tuple(f"0|{tr}|".encode() for tr in TRADE_TRS)
_TRADE_TRS = frozenset(tr.encode() for tr in TRADE_TRS)
REST_WINDOW = 30  # executions per answer: fewer means the whole day is in it
# H0STCNT0 positions (SPEC §15.7.1): symbol, time, price, volume, the day's cumulative volume,
# strength, business date.
_SYMBOL, _TIME, _PRICE, _VOLUME, _CUM_VOLUME, _STRENGTH, _DAY = 0, 1, 2, 12, 13, 18, 33
_RUN = 3  # delivered trades matched in a row to mark a hole's start


class Trade(NamedTuple):
    day: str  # YYYYMMDD (H0STCNT0 BSOP_DATE)
    time: str  # HHMMSS
    price: int
    volume: int
    strength: float | None
    cum_volume: int | None = None  # the WebSocket's ACML_VOL; REST does not say it

    @property
    def key(self) -> tuple[str, int, int, float | None]:
        """What REST and the WebSocket both say about a trade."""
        return (self.time, self.price, self.volume, self.strength)


def _strength(text: str) -> float | None:
    text = text.strip()
    return round(float(text), 2) if text else None


def _cum_volume(text: str) -> int | None:
    """A trade without it still marks a hole, only without the volume check."""
    text = text.strip()
    return int(text) if text.isdigit() else None


def frame_trades(payload: bytes) -> list[tuple[str, Trade]]:
    """(symbol, trade) of each record of a plain trade frame (H0STCNT0, or its NXT or combined
    twin); [] for anything else."""
    parts = payload.split(b"|", 3)
    if len(parts) != 4 or parts[1] not in _TRADE_TRS or not parts[2].isdigit():
        return []
    count = int(parts[2])
    fields = parts[3].decode("utf-8", "replace").split("^")
    if count <= 0 or len(fields) % count or len(fields) // count <= _DAY:
        return []
    width = len(fields) // count
    out = []
    for start in range(0, len(fields), width):
        record = fields[start : start + width]
        try:
            trade = Trade(
                record[_DAY],
                record[_TIME],
                int(record[_PRICE]),
                int(record[_VOLUME]),
                _strength(record[_STRENGTH]),
                _cum_volume(record[_CUM_VOLUME]),
            )
        except ValueError:
            continue  # persistence rejects it; it cannot mark anything
        out.append((record[_SYMBOL], trade))
    return out


def last_trades(frames: Iterable[bytes], keep: int = _RUN) -> dict[str, list[Trade]]:
    """The last `keep` trades of each symbol in `frames` (oldest frame first)."""
    out: dict[str, list[Trade]] = {}
    for payload in frames:
        for symbol, trade in frame_trades(payload):
            trades = out.setdefault(symbol, [])
            trades.append(trade)
            del trades[:-keep]
    return out


def first_trade(payload: bytes, symbol: str) -> Trade | None:
    return next((t for s, t in frame_trades(payload) if s == symbol), None)


@dataclass(frozen=True)
class Alignment:
    start: int  # executions[start:stop] are the missing trades
    stop: int
    covered: bool


def align(before: Sequence[Trade], after: Trade | None, executions: Sequence[Trade]) -> Alignment:
    """Which of `executions` (oldest first, one session's) the WebSocket did not deliver; see
    the module docstring. `after` is None when the new session delivered no trade yet.

    Keys are not unique (trades of one second at one price and volume often share a rounded
    strength), so a mark may match at several places, or match a lost trade while the
    delivered one is out of reach. The marks count only where they fit in one way; when the
    WebSocket's cumulative volume tells how much traded in the hole, the trades between them
    must add up to it."""
    whole_day = len(executions) < REST_WINDOW
    same_day = bool(before) and not (executions and executions[0].day != before[-1].day)
    missing = _missing_volume(before[-1], after) if same_day else None
    if missing == 0:
        return Alignment(0, 0, True)  # nothing traded in the hole, whatever REST reaches
    keys = [e.key for e in executions]
    stops = [len(keys)] if after is None else [i for i, k in enumerate(keys) if k == after.key]
    if not stops:
        # Every execution is newer than the first one delivered: the hole is out of reach.
        return Alignment(0, 0, False)
    stop = stops[0]  # the earliest: what is kept is never a trade delivered after the hole
    if not same_day:
        # Nothing of this session known to be delivered before the hole: any execution could
        # be older than it. Covered only if the symbol had not traded at all.
        opens_day = after is None or after.cum_volume in (None, after.volume)
        return Alignment(stop, stop, stop == 0 and whole_day and opens_day)
    volumes = [e.volume for e in executions]
    fits = [
        (start, end)
        for start in _after_runs([t.key for t in before], keys)
        for end in stops
        if start <= end and (missing is None or sum(volumes[start:end]) == missing)
    ]
    if len(fits) == 1:
        return Alignment(*fits[0], True)
    # The executions do not reach back to the start mark, or cannot tell where it is: keep
    # those in a later second.
    mark = before[-1].time
    later = next((i for i in range(stop) if executions[i].time > mark), stop)
    return Alignment(later, stop, False)


def _missing_volume(last: Trade, after: Trade | None) -> int | None:
    """Shares traded between the last trade delivered before the hole and the first one after
    it, when the WebSocket said both cumulative volumes."""
    if after is None or after.day != last.day:
        return None
    if last.cum_volume is None or after.cum_volume is None:
        return None
    return after.cum_volume - after.volume - last.cum_volume


def _after_runs(run: Sequence[Any], keys: Sequence[Any]) -> list[int]:
    """Each index just past a place where `keys` end with `run` (a run cut short by the start
    of `keys` counts)."""
    return [
        end + 1
        for end in range(len(keys))
        if all(keys[end - j] == run[-1 - j] for j in range(min(len(run), end + 1)))
    ]


def execution_trades(frame: pl.DataFrame, day: str) -> list[Trade]:
    return [
        Trade(day, row["time"], row["price"], row["volume"], _round(row["trade_strength"]))
        for row in frame.iter_rows(named=True)
    ]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
