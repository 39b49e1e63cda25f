"""The figures of a current-price snapshot (SPEC §7.1) for one symbol and session: 52-week,
250-day and year highs and lows, price limits, valuation and foreign holdings."""

from __future__ import annotations

import datetime as dt

import numpy as np

from kis_pipeline.simulator.market_bars import ordinals
from kis_pipeline.simulator.market_fundamentals import Fundamentals
from kis_pipeline.simulator.market_prices import PriceBook
from kis_pipeline.simulator.market_ticks import price_limits
from kis_pipeline.simulator.market_types import QuoteStats


def quote_stats(
    book: PriceBook, fund: Fundamentals, market: str, column: int, row: int
) -> QuoteStats:
    """Highs and lows split-adjusted to the session's share basis; PER/PBR/EPS/BPS from the
    latest annual statement published by then, on that day's share count."""
    day = book.days[row]
    adjust = adjust_to(book, column, row)

    def extremes(lo: int) -> tuple[int, dt.date, int, dt.date]:
        highs = np.round(book.high[lo : row + 1, column] * adjust[lo : row + 1])
        lows = np.round(book.low[lo : row + 1, column] * adjust[lo : row + 1])
        h, lw = int(np.argmax(highs)), int(np.argmin(lows))
        return int(highs[h]), book.days[lo + h], int(lows[lw]), book.days[lo + lw]

    year_ago = day - dt.timedelta(days=365)
    lo_52w = int(np.searchsorted(ordinals(book), year_ago.toordinal(), side="right"))
    lo_year = int(np.searchsorted(ordinals(book), dt.date(day.year, 1, 1).toordinal()))
    w52 = extremes(min(lo_52w, row))
    d250 = extremes(max(row - 249, 0))
    ytd = extremes(min(lo_year, row))
    base = int(book.base_rows(row, row + 1)[0, column])
    upper, lower = price_limits(base)
    shares = round(float(book.shares_rows(row, row + 1)[0, column]))
    close = int(book.close[row, column])
    annual = fund.latest_annual(column, day)
    eps = bps = per = pbr = 0.0
    if annual is not None:
        net = annual.income["thtr_ntin"]
        equity = annual.balance["total_cptl"]
        eps = round(net * 1e8 / shares, 2)
        bps = round(equity * 1e8 / shares, 2)
        per = round(close / eps, 2) if eps > 0 else 0.0
        pbr = round(close / bps, 2) if bps > 0 else 0.0
    foreign_limit = shares
    u = book.params.uniform[column]
    foreign_share = (0.05 + 0.5 * float(u[11])) if market == "KOSPI" else 0.02 + 0.15 * float(u[11])
    foreign_qty = int(shares * foreign_share)
    return QuoteStats(
        date=day,
        w52_high=w52[0],
        w52_high_date=w52[1],
        w52_low=w52[2],
        w52_low_date=w52[3],
        d250_high=d250[0],
        d250_high_date=d250[1],
        d250_low=d250[2],
        d250_low_date=d250[3],
        year_high=ytd[0],
        year_high_date=ytd[1],
        year_low=ytd[2],
        year_low_date=ytd[3],
        upper_limit=upper,
        lower_limit=lower,
        listed_shares=shares,
        market_cap=close * shares,
        per=per,
        pbr=pbr,
        eps=eps,
        bps=bps,
        foreign_holding_qty=foreign_qty,
        foreign_exhaustion_rate=round(foreign_qty / foreign_limit * 100.0, 2),
        volume_turnover=round(int(book.volume[row, column]) / shares * 100.0, 2),
    )


def adjust_to(book: PriceBook, column: int, row: int) -> np.ndarray:
    """Per-row multipliers taking raw prices onto the share basis of `row`."""
    factors = np.ones(len(book.days))
    for event in book.splits:
        if event.column == column and event.day_index <= row:
            factors[: event.day_index] /= event.ratio
    return factors
