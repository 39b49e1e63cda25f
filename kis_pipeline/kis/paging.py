"""The three paging models of SPEC §6, with loop protection, and fixed windows for none.

1. window walking: call with an end date, move the end before the oldest row returned
   (`walk_back` over rows, `walk_frames` over pages parsed into frames);
2. `tr_cont` continuation: resend with header `tr_cont: N` and the body's context keys;
3. calendar: advance the base date past the last day returned.
Every walker stops on an empty page, on a page that makes no progress, and at a page cap, so
a misbehaving server can never make a backfill loop forever. `split_windows` cuts a long range
into fixed windows for endpoints with no paging at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import polars as pl

from kis_pipeline.kis.client import KisClient, KisResponse
from kis_pipeline.kis.errors import PayloadError
from kis_pipeline.kis.records import Split

Row = TypeVar("Row")

MAX_TR_CONT_PAGES = 50
MAX_WINDOW_PAGES = 10_000
# Marks the date of a rejected record among a page's rows (never a column of a frame).
_REJECTED = "_rejected"


def walk_back(
    fetch: Callable[[dt.date], list[Row]],
    row_date: Callable[[Row], dt.date],
    *,
    start: dt.date,
    end: dt.date,
    max_pages: int = MAX_WINDOW_PAGES,
) -> Iterator[list[Row]]:
    """Window walking: `fetch(end)` returns rows on or before `end`, newest first or not.

    Yields each page's rows within [start, end]; the next window ends the day before the
    oldest row seen. Stops when a page is empty, reaches `start`, or fails to move back.
    """
    cursor = end
    for _ in range(max_pages):
        rows = fetch(cursor)
        if not rows:
            return
        oldest = min(row_date(r) for r in rows)
        kept = [r for r in rows if start <= row_date(r) <= end]
        if kept:
            yield kept
        if oldest <= start:
            return
        next_cursor = oldest - dt.timedelta(days=1)
        if next_cursor >= cursor:
            raise PayloadError(
                f"window walk made no progress at {cursor.isoformat()} (oldest row {oldest})"
            )
        cursor = next_cursor
    raise PayloadError(f"window walk exceeded {max_pages} pages between {start} and {end}")


def follow_tr_cont(
    client: KisClient,
    path: str,
    tr_id: str,
    params: Mapping[str, str],
    *,
    context_keys: Mapping[str, str],
    max_pages: int = MAX_TR_CONT_PAGES,
) -> Iterator[KisResponse]:
    """`tr_cont` continuation (SPEC §6.3).

    `context_keys` maps a response body key to the request parameter it feeds, e.g.
    `{"ctx_area_fk100": "CTX_AREA_FK100", "ctx_area_nk100": "CTX_AREA_NK100"}`.
    """
    request = dict(params)
    tr_cont = ""
    seen: set[tuple[str, ...]] = set()
    for _ in range(max_pages):
        response = client.get(path, tr_id, request, tr_cont=tr_cont)
        yield response
        if not response.has_more:
            return
        context = tuple(str(response.body.get(k, "")) for k in context_keys)
        if context in seen:
            raise PayloadError(f"{tr_id}: tr_cont paging repeated the same context keys")
        seen.add(context)
        for body_key, param in context_keys.items():
            request[param] = str(response.body.get(body_key, ""))
        tr_cont = "N"
    raise PayloadError(f"{tr_id}: more than {max_pages} tr_cont pages; stopping")


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
        # A reject names its record's own date; when the window moves by another column
        # (a settlement date) that date says nothing of how far back the page reached.
        markers = [
            {date_column: r.date, _REJECTED: True}
            for r in split.rejects
            if r.date and date_column == "date"
        ]
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
