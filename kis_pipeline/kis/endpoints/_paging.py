"""Frame-level paging for the endpoint modules, on top of the generic walkers of `kis.paging`.

`walk_frames` is window walking (SPEC §6.2) for endpoints whose pages are parsed into frames:
the loop protection (empty page, page reaching `start`, a window that does not move back, a
page cap) is `kis.paging.walk_back`'s; this adds the short-page stop and the assembly of one
frame. `split_windows` cuts a long range into fixed windows for endpoints with no paging at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import polars as pl

from kis_pipeline.kis.paging import walk_back
from kis_pipeline.kis.records import Split

# Marks the date of a rejected record among a page's rows (never a column of a frame).
_REJECTED = "_rejected"


def walk_frames(
    fetch_page: Callable[[dt.date], pl.DataFrame | Split],
    *,
    start: dt.date,
    end: dt.date,
    schema: pl.Schema,
    page_rows: int | None,
    date_column: str = "date",
) -> pl.DataFrame:
    """Walk `fetch_page(window_end)` back from `end` to `start`; one row per date, ascending.

    `page_rows` is the endpoint's documented rows-per-call cap: a page shorter than that held
    every row of its window, so the walk ends without spending a call on an empty page. Pass
    None where the cap is not documented. A page may come split (`kis.records.Split`): its
    rejected records count towards the page's length and their dates towards how far back it
    reached, so a rejected record neither ends the walk early nor is asked for again.
    """
    exhausted = False

    def fetch(window_end: dt.date) -> list[dict[str, Any]]:
        nonlocal exhausted
        if exhausted:
            return []
        page = fetch_page(window_end)
        split = page if isinstance(page, Split) else Split(page)
        exhausted = page_rows is not None and split.received < page_rows
        markers = [{date_column: r.date, _REJECTED: True} for r in split.rejects if r.date]
        return split.frame.to_dicts() + markers

    def row_date(row: dict[str, Any]) -> dt.date:
        return row[date_column]

    rows = [
        row
        for page in walk_back(fetch, row_date, start=start, end=end)
        for row in page
        if _REJECTED not in row
    ]
    frame = pl.DataFrame(rows, schema=schema)
    return frame.unique(subset=[date_column], keep="first", maintain_order=True).sort(date_column)


def split_windows(start: dt.date, end: dt.date, days: int) -> Iterator[tuple[dt.date, dt.date]]:
    """Consecutive inclusive windows of at most `days` days covering [start, end]."""
    if days < 1:
        raise ValueError("window length must be at least one day")
    cursor = start
    while cursor <= end:
        last = min(end, cursor + dt.timedelta(days=days - 1))
        yield cursor, last
        cursor = last + dt.timedelta(days=1)
