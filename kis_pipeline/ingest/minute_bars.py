"""Minute bars for a watchlist: which names each day (`watchlist`), what they cost in calls, and
the fetch, one walk per symbol-day (`kis.endpoints.minute_bars`).

The watchlist of a day is `KIS_MINUTE_SYMBOLS`, else what the saved condition `KIS_CONDITION`
matched that day (`condition_results`), else the day's `TOP_BY_VALUE` most traded names by
value; `backfill --symbols` (or `KIS_SYMBOLS`) names it outright. Either way it keeps only
the names that traded that day, which the day's `daily_prices` say, so a name that was
suspended costs no call and is not expected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from kis_pipeline.common import krx_calendar
from kis_pipeline.common.intraday_schemas import MINUTE_BARS
from kis_pipeline.ingest.per_key import fetch_each
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.minute_bars import MinuteChart
from kis_pipeline.warehouse import Warehouse
from kis_pipeline.warehouse.lookups import MissingReference

TOP_BY_VALUE = 100


@dataclass(frozen=True)
class MinutePlan:
    """The names to fetch on each day, and the calls that takes."""

    names: Mapping[dt.date, tuple[str, ...]]
    calls_per_name: int

    @property
    def calls(self) -> int:
        return self.calls_per_name * sum(len(n) for n in self.names.values())

    def expected(self) -> pl.DataFrame:
        """(date, symbol) of every symbol-day that must have bars."""
        pairs = [(day, s) for day, names in self.names.items() for s in names]
        return pl.DataFrame(pairs, schema={"date": pl.Date, "symbol": pl.String}, orient="row")


def daily_bars(warehouse: Warehouse, days: Sequence[dt.date]) -> pl.DataFrame:
    """The stored daily bars of `days`; every day must have its `daily_prices` partition."""
    stored = set(warehouse.partitions("daily_prices"))
    missing = [d for d in days if d.isoformat() not in stored]
    if missing:
        listed = ", ".join(d.isoformat() for d in missing[:5]) + (
            " ..." if len(missing) > 5 else ""
        )
        raise MissingReference(
            f"no daily_prices for {listed}; materialize daily_prices for those days first "
            "(the minute-bar watchlist is taken from the day's traded names)"
        )
    return warehouse.read("daily_prices", [d.isoformat() for d in days])


def screened(
    warehouse: Warehouse, condition: str, days: Sequence[dt.date]
) -> dict[dt.date, tuple[str, ...]]:
    """The names `condition` matched on each of `days` it ran (`condition_results`), best
    first; the days it did not run are left out."""
    stored = set(warehouse.partitions("condition_results"))
    wanted = [d.isoformat() for d in days if d.isoformat() in stored]
    if not wanted:
        return {}
    frame = warehouse.read("condition_results", wanted).filter(pl.col("condition") == condition)
    return {
        day: tuple(part.sort("rank")["symbol"].to_list())
        for (day,), part in frame.partition_by("as_of", as_dict=True).items()
    }


def watchlist(
    daily: pl.DataFrame,
    days: Sequence[dt.date],
    *,
    chosen: Sequence[str] | None,
    by_day: Mapping[dt.date, Sequence[str]] | None = None,
    top: int | None = None,
) -> dict[dt.date, tuple[str, ...]]:
    """The names to fetch on each of `days`: those of `chosen` that traded, else those of the
    day's `by_day` (a screen) that traded, else the `top` most traded by value. A chosen name
    listed on none of the days is an error (a typo, most likely)."""
    if chosen is not None:
        listed = set(daily["symbol"].to_list())
        unknown = [s for s in chosen if s not in listed]
        if unknown:
            raise MissingReference(
                f"unknown symbols {', '.join(unknown)}: not listed on any day from {min(days)} "
                f"to {max(days)}; check KIS_MINUTE_SYMBOLS (or --symbols)"
            )
    top = TOP_BY_VALUE if top is None else top
    traded = daily.filter(pl.col("volume") > 0)
    names: dict[dt.date, tuple[str, ...]] = {}
    for day in days:
        today = traded.filter(pl.col("date") == day)
        picked = chosen if chosen is not None else (by_day or {}).get(day)
        if picked is not None:
            traded_today = set(today["symbol"].to_list())
            names[day] = tuple(s for s in picked if s in traded_today)
        else:
            ranked = today.sort(["value", "symbol"], descending=[True, False]).head(top)
            names[day] = tuple(ranked["symbol"].to_list())
    return names


def plan(chart: MinuteChart, names: Mapping[dt.date, tuple[str, ...]]) -> MinutePlan:
    return MinutePlan(names, chart.calls())


def fetch_minutes(
    client: KisClient,
    chart: MinuteChart,
    planned: MinutePlan,
    *,
    on_key: Callable[[dict[str, str]], None] | None = None,
) -> tuple[pl.DataFrame, dict[str, str]]:
    """Every planned symbol-day's bars, and the names KIS rejected (with why)."""
    frames = [pl.DataFrame(schema=MINUTE_BARS)]
    failures: dict[str, str] = {}
    for day, names in sorted(planned.names.items()):
        opens, closes = krx_calendar.session_hours(day)
        frame, failed = fetch_each(
            names,
            lambda symbol, day=day, opens=opens, closes=closes: chart.fetch_day(
                client, symbol, day, opens=opens, closes=closes
            ),
            MINUTE_BARS,
            on_key=lambda day_failures: on_key({**failures, **day_failures}) if on_key else None,
            name="minute_bars",
        )
        frames.append(frame)
        for symbol, why in failed.items():
            failures.setdefault(symbol, f"{day}: {why}")
    return pl.concat(frames, how="vertical"), failures


def disagreements(bars: pl.DataFrame, daily: pl.DataFrame) -> pl.DataFrame:
    """The symbol-days whose bars do not fit the day's own KRX bar: the first bar opens on the
    day's open and the last closes on its close; no bar goes beyond the day's range; the bars
    trade no more than the day (the day's volume also counts after-hours trades)."""
    if bars.is_empty():
        return pl.DataFrame(schema={"date": pl.Date, "symbol": pl.String, "why": pl.String})
    day = (
        bars.sort("ts")
        .group_by("date", "symbol")
        .agg(
            pl.col("open").first().alias("m_open"),
            pl.col("close").last().alias("m_close"),
            pl.col("high").max().alias("m_high"),
            pl.col("low").min().alias("m_low"),
            pl.col("volume").sum().alias("m_volume"),
        )
    )
    krx = (
        daily.filter(pl.col("venue").fill_null("KRX") == "KRX")
        if "venue" in daily.columns
        else daily
    )
    joined = day.join(krx, on=["date", "symbol"], how="inner")
    reasons = [
        (pl.col("m_open") != pl.col("open"), "first open is not the day's open"),
        (pl.col("m_close") != pl.col("close"), "last close is not the day's close"),
        (pl.col("m_high") > pl.col("high"), "a bar is above the day's high"),
        (pl.col("m_low") < pl.col("low"), "a bar is below the day's low"),
        (pl.col("m_volume") > pl.col("volume"), "the bars trade more than the day"),
    ]
    why = pl.concat_str(
        [pl.when(cond).then(pl.lit(text)) for cond, text in reasons],
        separator="; ",
        ignore_nulls=True,
    )
    return (
        joined.with_columns(why.alias("why"))
        .filter(pl.col("why") != "")
        .select("date", "symbol", "why")
        .sort("date", "symbol")
    )
