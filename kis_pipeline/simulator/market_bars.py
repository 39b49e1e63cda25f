"""Daily figures read off the raw price book: one bar with its base price and corporate-action
codes, many symbols' bars as one frame, split (and bonus-issue) factors, and a day's rankings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from kis_pipeline.simulator.market_prices import PriceBook, SplitEvent
from kis_pipeline.simulator.market_types import DailyBar


def bar_at(
    book: PriceBook, row: int, column: int, ex_dividend_codes: Mapping[dt.date, str]
) -> DailyBar:
    """The bar of book cell (row, column); `ex_dividend_codes` are the symbol's by ex-date."""
    flng, prtt, revl = "00", 0.0, ""
    split = split_at(book, column, row)
    if row == 0:
        base = int(book.first_base[column])
    elif split is not None:
        base = int(book.base_rows(row, row + 1)[0, column])
        prev = int(book.close[row - 1, column])
        flng, revl = split.chart_codes
        prtt = round(base / prev, 4)
    else:
        base = int(book.close[row - 1, column])
        flng = ex_dividend_codes.get(book.days[row], "00")
    high, low, close = (
        int(book.high[row, column]),
        int(book.low[row, column]),
        int(book.close[row, column]),
    )
    volume = int(book.volume[row, column])
    # Same formula as PriceBook.value_rows, on one cell.
    value = int(np.rint(volume * ((float(high) + low + 2.0 * close) / 4.0)))
    return DailyBar(
        date=book.days[row],
        open=int(book.open[row, column]),
        high=high,
        low=low,
        close=close,
        volume=volume,
        value=value,
        prev_close=base,
        flng_cls_code=flng,
        prtt_rate=prtt,
        revl_issu_reas=revl,
    )


def split_at(book: PriceBook, column: int, row: int) -> SplitEvent | None:
    """The event that resets the symbol's base price on `row`, if any."""
    for event in book.splits:
        if event.column == column and event.day_index == row and event.resets_base:
            return event
    return None


def split_factor(book: PriceBook, column: int, *, after: dt.date, par: bool = False) -> float:
    """Product of the symbol's share-count ratios dated after `after`; with `par`, of the
    splits alone (those that change the par value)."""
    factor = 1.0
    for event in book.splits:
        if event.column == column and event.date > after and (event.changes_par or not par):
            factor *= event.share_multiplier
    return factor


def adjustment(book: PriceBook, column: int, day: dt.date, last: dt.date) -> float:
    """Multiply a raw price of `day` by this to get the adjusted price as of session `last`."""
    factor = 1.0
    for event in book.splits:
        if event.column == column and day < event.date <= last:
            factor /= event.ratio
    return factor


def bars_frame(
    book: PriceBook, rows: range, columns: np.ndarray, names: Sequence[str], *, whole: bool
) -> pl.DataFrame:
    """Raw bars of `rows` x `columns` (named `names`), date-major; `whole` when the columns are
    the entire universe in order."""
    lo, hi = rows.start, rows.stop
    n_rows, n_cols = hi - lo, len(columns)
    full = whole

    def pick(matrix: np.ndarray) -> np.ndarray:
        # Plain slices for the whole universe; `take` keeps a subset C-contiguous so the
        # ravel below is a view, not a strided copy.
        part = matrix[lo:hi] if full else np.take(matrix[lo:hi], columns, axis=1)
        return part.astype(np.int64, copy=False).ravel()

    dates = np.array(book.days[lo:hi], dtype="datetime64[D]")
    symbols = pl.Series("symbol", names, dtype=pl.String)
    positions = pl.Series(np.tile(np.arange(n_cols, dtype=np.uint32), n_rows))
    value = book.value_rows(lo, hi, None if full else columns)
    return pl.DataFrame(
        {
            "date": pl.Series("date", np.repeat(dates, n_cols), dtype=pl.Date),
            "symbol": symbols.gather(positions),
            "open": pick(book.open),
            "high": pick(book.high),
            "low": pick(book.low),
            "close": pick(book.close),
            "volume": pick(book.volume),
            "value": value.ravel(),
        }
    )


def ranked(book: PriceBook, row: int, kind: str, codes: Sequence[str]) -> list[str]:
    """The symbols `codes` (the book's columns, in order), best first by ranking `kind` on day
    `row`; ties by symbol code."""
    if kind == "volume":
        score = book.volume[row].astype(np.float64)
    elif kind == "market_cap":
        score = book.close[row] * book.shares_rows(row, row + 1)[0]
    else:
        base = book.base_rows(row, row + 1)[0]
        rate = np.round((book.close[row] - base) / base * 100.0, 2)
        score = rate if kind == "rise" else -rate
    symbols = np.array(codes)
    order = np.lexsort((symbols, -score))
    return [str(symbols[i]) for i in order]


def ordinals(book: PriceBook) -> np.ndarray:
    cached = getattr(book, "_ordinals", None)
    if cached is None:
        cached = np.array([d.toordinal() for d in book.days], dtype=np.int64)
        book._ordinals = cached  # type: ignore[attr-defined]
    return cached
