"""Past sessions of KIS's ranking screens (SPEC §8.4-§8.16), derived from `daily_prices` where
the warehouse reproduces a screen exactly (`Derivation`, declared on the screen).

A day is derived from its own bars and the sessions before it: walking back weekday by weekday
through `daily_prices`, a partition with rows is a session, an empty one a closed day, and a
missing one ends what is known. A column whose window reaches past that end is null; a day
whose ranked column cannot be computed is not derived at all and is reported with the
partition it lacks. A name with fewer bars than its window (listed within it) is measured on
the bars it has, as KIS measures it.

The disparity screen (§8.9): each name's close against the mean of its last 5, 10, 20, 60 and
120 closes, its own included (%, two decimals); `above_20d` the 30 highest 20-session
disparities, `below_20d` the 30 lowest, ties by code. The closes are the raw ones, as KIS (and
the simulator) average them: a split inside a window is not adjusted for, so the name's
disparity jumps on the split and stays off until the window has passed it.

The execution-strength screen (§8.8): each name's buyers' volume against its sellers' on the
day (%, two decimals, from `daily_trade_volume`), the 30 highest, ties by code; a name without
a seller's volume has no strength and is left out, as KIS leaves it out.

A screen covers the names the warehouse has rows for: the whole market unless `KIS_SYMBOLS`
restricted `daily_prices` (or `daily_trade_volume`).
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from kis_pipeline.common.ranking_schemas import RANKING_LISTS
from kis_pipeline.ingest.derived_rankings import (
    DERIVE_BLOCK,
    PRICES,
    SOURCE,
    VENUE,
    History,
    percent,
    rank_order,
)

ROWS = 30
TRADE_VOLUME = "daily_trade_volume"
DISPARITY_WINDOWS = (5, 10, 20, 60, 120)
# Weekday partitions read before a block's first day per session looked back over: 120
# sessions and the holidays among them fit in 200.
LOOKBACK_PER_SESSION = 5 / 3


@dataclass(frozen=True)
class Day:
    """What a day's derivation reads: the `daily_prices` rows of its `sessions` (newest first,
    the day itself first), the listing on the day (symbol, name, market, listed_shares) and
    the day's rows of each other table the derivation reads."""

    bars: pl.DataFrame
    sessions: Sequence[dt.date]
    listing: pl.DataFrame
    tables: Mapping[str, pl.DataFrame] = field(default_factory=dict)

    @property
    def date(self) -> dt.date:
        return self.sessions[0]


@dataclass(frozen=True)
class Derivation:
    """How a screen's past session is reproduced from the warehouse: `sessions`, the most
    sessions of `daily_prices` a column looks back over (the day included); `ranked_on`, those
    without which the day cannot be ranked; `tables`, the other tables whose partition of the
    day it needs; `rows`, the table's rows of a `Day`."""

    sessions: int
    ranked_on: int
    rows: Callable[[Day], pl.DataFrame]
    tables: tuple[str, ...] = ()


@dataclass(frozen=True)
class DerivedDays:
    """Derived days of a screen: the rows, each day's number of bars (0: closed), the days the
    warehouse cannot rank (day -> the table and partition it lacks), and the days whose longer
    windows are null (day -> the sessions known)."""

    frame: pl.DataFrame
    bars: dict[dt.date, int]
    missing: dict[dt.date, tuple[str, str]]
    short: dict[dt.date, int]


def known_sessions(
    day: dt.date, count: int, present: set[str], with_rows: set[dt.date], floor: dt.date
) -> tuple[list[dt.date], str | None]:
    """Up to `count` sessions on or before `day`, newest first, and the partition whose absence
    ended the walk (None: `count` were found). Nothing before `floor` was read."""
    sessions: list[dt.date] = []
    current = day
    while len(sessions) < count:
        if current.weekday() < 5:
            key = current.isoformat()
            if key not in present or current < floor:
                return sessions, key
            if current in with_rows:
                sessions.append(current)
        current -= dt.timedelta(days=1)
    return sessions, None


def derive_days(
    history: History, table: str, derivation: Derivation, days: Sequence[dt.date]
) -> DerivedDays:
    """The derived rows of `days` (at most `DERIVE_BLOCK` of them, for memory)."""
    schema = RANKING_LISTS[table]
    empty = DerivedDays(pl.DataFrame(schema=schema), {}, {}, {})
    present = set(history.present)
    missing = {day: (PRICES, day.isoformat()) for day in days if day.isoformat() not in present}
    keys = sorted(day.isoformat() for day in days if day not in missing)
    if not keys:
        return DerivedDays(empty.frame, {}, missing, {})
    lookback = math.ceil(derivation.sessions * LOOKBACK_PER_SESSION)
    first = max(bisect.bisect_left(history.present, keys[0]) - lookback, 0)
    last = bisect.bisect_right(history.present, keys[-1])
    read = history.present[first:last]
    frame = history.warehouse.read(PRICES, read)
    with_rows = set(frame["date"].unique().to_list())
    floor = dt.date.fromisoformat(read[0])
    others = {table: set(history.warehouse.partitions(table)) for table in derivation.tables}
    frames = [empty.frame]
    bars: dict[dt.date, int] = {}
    short: dict[dt.date, int] = {}
    for day in sorted(dt.date.fromisoformat(key) for key in keys):
        if day not in with_rows:
            bars[day] = 0
            continue
        sessions, gap = known_sessions(day, derivation.sessions, present, with_rows, floor)
        if len(sessions) < derivation.ranked_on:
            assert gap is not None
            missing[day] = (PRICES, gap)
            continue
        lacking = [table for table in derivation.tables if day.isoformat() not in others[table]]
        if lacking:
            missing[day] = (lacking[0], day.isoformat())
            continue
        if gap is not None:
            short[day] = len(sessions)
        window = frame.filter(pl.col("date").is_in(sessions))
        tables = {
            table: history.warehouse.read(table, [day.isoformat()]) for table in derivation.tables
        }
        rows = derivation.rows(Day(window, sessions, history.listing_on(day), tables))
        frames.append(rows.select(list(schema)).cast(dict(schema)))
        bars[day] = window.filter(pl.col("date") == day).height
    return DerivedDays(pl.concat(frames, how="vertical"), bars, missing, short)


def derive_blocks(
    history: History, table: str, derivation: Derivation, days: Sequence[dt.date]
) -> DerivedDays:
    """`derive_days` over any number of days, `DERIVE_BLOCK` at a time."""
    ordered = sorted(days)
    parts = [
        derive_days(history, table, derivation, ordered[start : start + DERIVE_BLOCK])
        for start in range(0, len(ordered), DERIVE_BLOCK)
    ]
    return DerivedDays(
        pl.concat([pl.DataFrame(schema=RANKING_LISTS[table]), *(p.frame for p in parts)]),
        {day: n for p in parts for day, n in p.bars.items()},
        {day: lack for p in parts for day, lack in p.missing.items()},
        {day: n for p in parts for day, n in p.short.items()},
    )


def disparity(close: int, total: int, count: int) -> float:
    """The close against the mean of `count` closes summing to `total` (%), rounded as KIS
    sends it: the same float operations, so a tie at the second decimal breaks the same way."""
    return round(close / (total / count) * 100.0, 2)


def quote(today: pl.DataFrame, listing: pl.DataFrame) -> pl.DataFrame:
    """The day's bars with the quote every screen leads with: the name on the day and the
    change rate against the base price (the previous close, or the reset one), as KIS sends
    it."""
    close = today["close"].to_numpy().astype(np.float64)
    base = close - today["change"].to_numpy().astype(np.float64)
    return today.join(listing.select("symbol", "name"), on="symbol", how="left").with_columns(
        change_rate=pl.Series(percent(close - base, base), dtype=pl.Float64)
    )


def ranked(measured: pl.DataFrame, scores: Mapping[str, np.ndarray]) -> pl.DataFrame:
    """The top 30 of each ordering (`scores`: ordering -> its score, highest first), ties by
    code, in the head columns of a ranking table and the screen's own."""
    symbols = measured["symbol"].to_numpy()
    parts = []
    for ranking, score in scores.items():
        order = rank_order(score, symbols)[:ROWS]
        parts.append(
            measured[order.tolist()].with_columns(
                ranking=pl.lit(ranking), rank=pl.Series(range(1, len(order) + 1), dtype=pl.Int64)
            )
        )
    return pl.concat(parts).with_columns(
        price=pl.col("close"), venue=pl.lit(VENUE), source=pl.lit(SOURCE)
    )


def disparity_rows(day: Day) -> pl.DataFrame:
    """The disparity screen of `day` (module docstring), in `disparity_rankings`."""
    sessions = day.sessions
    age = pl.DataFrame(
        {"date": list(sessions), "age": list(range(len(sessions)))},
        schema={"date": pl.Date, "age": pl.Int64},
    )
    known = [n for n in DISPARITY_WINDOWS if n <= len(sessions)]
    sums = (
        day.bars.join(age, on="date")
        .group_by("symbol")
        .agg(
            *(pl.col("close").filter(pl.col("age") < n).sum().alias(f"sum_{n}") for n in known),
            *(pl.col("close").filter(pl.col("age") < n).len().alias(f"n_{n}") for n in known),
        )
    )
    today = day.bars.filter(pl.col("date") == day.date).join(sums, on="symbol").sort("symbol")
    figures = {
        f"disparity_{n}d": pl.Series(
            [
                disparity(close, total, count)
                for close, total, count in zip(
                    today["close"].to_list(),
                    today[f"sum_{n}"].to_list(),
                    today[f"n_{n}"].to_list(),
                    strict=True,
                )
            ]
            if n in known
            else [None] * today.height,
            dtype=pl.Float64,
        )
        for n in DISPARITY_WINDOWS
    }
    measured = quote(today, day.listing).with_columns(**figures)
    score = measured["disparity_20d"].to_numpy().astype(np.float64)
    return ranked(measured, {"above_20d": score, "below_20d": -score})


def strength_rows(day: Day) -> pl.DataFrame:
    """The execution-strength screen of `day`: the buyers' volume against the sellers' (%,
    two decimals) of every name that traded with a seller, highest first, ties by code."""
    sides = day.tables[TRADE_VOLUME].filter(pl.col("sell_volume") > 0)
    today = (
        day.bars.filter(pl.col("date") == day.date)
        .join(sides.select("symbol", "buy_volume", "sell_volume"), on="symbol")
        .sort("symbol")
    )
    strength = [
        round(buy / sell * 100.0, 2)
        for buy, sell in zip(
            today["buy_volume"].to_list(), today["sell_volume"].to_list(), strict=True
        )
    ]
    measured = quote(today, day.listing).with_columns(
        strength=pl.Series(strength, dtype=pl.Float64)
    )
    return ranked(measured, {"strength": measured["strength"].to_numpy()})


DISPARITY = Derivation(sessions=max(DISPARITY_WINDOWS), ranked_on=20, rows=disparity_rows)
STRENGTH = Derivation(sessions=1, ranked_on=1, rows=strength_rows, tables=(TRADE_VOLUME,))

# The screens derived for past sessions, by table; the others are KIS's snapshots only.
DERIVATIONS: dict[str, Derivation] = {
    "execution_strength_rankings": STRENGTH,
    "disparity_rankings": DISPARITY,
}
