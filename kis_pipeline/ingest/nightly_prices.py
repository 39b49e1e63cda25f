"""The nightly run of `daily_prices`: the latest session of the whole universe from the
multi-symbol quote (SPEC §7.11: 30 symbols a call, so about S / 30 calls instead of S).

The quote carries no date, so the session comes from the calendar, and it is proved before
anything is written: in each batch of 30 one traded symbol is also fetched from the daily chart
(one call), whose newest bar must be dated the partition's day and equal the quote's OHLCV.
A symbol whose base price differs from its previous close (the warehouse's, or the quote's own)
had a corporate action today; its row is taken from the chart instead, which carries the event
flags (`ex_rights_code`, `split_ratio`) that `daily_prices_adjusted` uses to restate history.

Quote rows carry no event flags: `ex_rights_code`, `split_ratio` and `revaluation_reason` are
null on them (unknown, not "none"); a later chart backfill of the day fills them in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.prices import PRICE_JUMPS, fetch_daily_chart
from kis_pipeline.kis.endpoints.quotes import MAX_SYMBOLS_PER_CALL, fetch_multi_quote
from kis_pipeline.kis.errors import KisError
from kis_pipeline.kis.records import flag_jumps

# The cross-check fetches a short window ending on the day; two weeks hold its bar whatever
# the holidays.
CROSS_CHECK_DAYS = 14
COMPARED = ("open", "high", "low", "close", "volume")


class SessionMismatch(Exception):
    """The multi-quote does not describe the partition's session; nothing was written."""


@dataclass
class NightlyOutcome:
    frame: pl.DataFrame
    calls_planned: int
    cross_checked: list[str] = field(default_factory=list)
    suspects: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)


def quote_rows(quotes: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """Multi-quote rows (found symbols) as `daily_prices` rows of `day`."""
    found = quotes.filter(pl.col("found"))
    as_int = {c: pl.col(c).round(0).cast(pl.Int64) for c in ("open", "high", "low", "change")}
    frame = found.select(
        pl.lit(day, dtype=pl.Date).alias("date"),
        "symbol",
        as_int["open"],
        as_int["high"],
        as_int["low"],
        pl.col("price").round(0).cast(pl.Int64).alias("close"),
        "volume",
        "value",
        as_int["change"],
        "venue",
        pl.lit(None, dtype=pl.String).alias("ex_rights_code"),
        pl.lit(None, dtype=pl.Float64).alias("split_ratio"),
        pl.lit(None, dtype=pl.String).alias("revaluation_reason"),
        (~pl.col("is_traded").fill_null(False)).alias("is_modified"),
        pl.lit(None, dtype=pl.String).alias("quality_flag"),
    )
    # One row per symbol: the jump is judged against the quote's own change.
    return flag_jumps(frame.select(list(schemas.DAILY_PRICES)), PRICE_JUMPS)


def corporate_action_suspects(
    quotes: pl.DataFrame, previous_close: pl.DataFrame | None
) -> list[str]:
    """Symbols whose base price is not their previous close (quote's or warehouse's)."""
    frame = quotes.filter(pl.col("found") & pl.col("base_price").is_not_null())
    if previous_close is not None and not previous_close.is_empty():
        frame = frame.join(
            previous_close.select("symbol", pl.col("close").alias("_wh_close")),
            on="symbol",
            how="left",
        )
    else:
        frame = frame.with_columns(_wh_close=pl.lit(None, dtype=pl.Int64))
    differs = (pl.col("base_price") != pl.col("prev_close")).fill_null(False) | (
        pl.col("base_price") != pl.col("_wh_close").cast(pl.Float64)
    ).fill_null(False)
    return frame.filter(differs)["symbol"].to_list()


def fetch_nightly(
    client: KisClient,
    symbols: Sequence[str],
    day: dt.date,
    *,
    previous_close: pl.DataFrame | None = None,
    market: str = "J",
) -> NightlyOutcome:
    """The day's rows of `symbols` on venue `market`: multi-quote, cross-checked and corrected
    by the chart."""
    batches = [
        list(symbols[i : i + MAX_SYMBOLS_PER_CALL])
        for i in range(0, len(symbols), MAX_SYMBOLS_PER_CALL)
    ]
    quotes = fetch_multi_quote(client, symbols, market=market)
    outcome = NightlyOutcome(
        frame=pl.DataFrame(schema=schemas.DAILY_PRICES), calls_planned=2 * len(batches)
    )
    outcome.unknown = quotes.filter(~pl.col("found"))["symbol"].to_list()
    rows = quote_rows(quotes, day)
    chart_rows: dict[str, pl.DataFrame] = {}

    traded = set(quotes.filter(pl.col("found") & pl.col("is_traded"))["symbol"].to_list())
    mismatches = []
    for batch in batches:
        probe = next((s for s in batch if s in traded), None)
        if probe is None:
            continue
        chart = fetch_daily_chart(
            client,
            probe,
            day - dt.timedelta(days=CROSS_CHECK_DAYS),
            day,
            adjusted=False,
            market=market,
        )
        newest = chart["date"].max() if not chart.is_empty() else None
        if newest != day:
            raise SessionMismatch(
                f"the multi-quote cannot be stamped {day}: the chart's newest bar of {probe} "
                f"is {newest}; run the chart backfill for this day instead"
            )
        bar = chart.filter(pl.col("date") == day)
        quoted = rows.filter(pl.col("symbol") == probe)
        differs = [c for c in COMPARED if bar[c][0] != quoted[c][0]]
        if differs:
            mismatches.append(
                f"{probe}: "
                + ", ".join(f"{c} quote {quoted[c][0]} chart {bar[c][0]}" for c in differs)
            )
        chart_rows[probe] = bar
        outcome.cross_checked.append(probe)
    if mismatches:
        raise SessionMismatch(
            f"the multi-quote disagrees with the daily chart for {day}: " + "; ".join(mismatches)
        )

    outcome.suspects = corporate_action_suspects(quotes, previous_close)
    outcome.calls_planned += len([s for s in outcome.suspects if s not in chart_rows])
    for symbol in outcome.suspects:
        if symbol in chart_rows:
            continue
        try:
            chart = fetch_daily_chart(client, symbol, day, day, adjusted=False, market=market)
        except KisError as exc:
            outcome.failures[symbol] = f"{type(exc).__name__}: {exc}"
            continue
        chart_rows[symbol] = chart.filter(pl.col("date") == day)

    replaced = [frame for frame in chart_rows.values() if not frame.is_empty()]
    if replaced:
        taken = pl.concat(replaced, how="vertical")
        rows = pl.concat(
            [rows.filter(~pl.col("symbol").is_in(taken["symbol"].to_list())), taken],
            how="vertical",
        )
    # A suspect whose chart call failed keeps no row: better missing (and reported) than a
    # row without the flags that would restate its history.
    if outcome.failures:
        rows = rows.filter(~pl.col("symbol").is_in(list(outcome.failures)))
    outcome.frame = rows.sort("symbol")
    return outcome
