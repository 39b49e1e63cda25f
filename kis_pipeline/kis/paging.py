"""The three paging models of SPEC §6, with loop protection.

1. window walking: call with an end date, move the end before the oldest row returned;
2. `tr_cont` continuation: resend with header `tr_cont: N` and the body's context keys;
3. calendar: advance the base date past the last day returned.
Every walker stops on an empty page, on a page that makes no progress, and at a page cap, so
a misbehaving server can never make a backfill loop forever.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

from kis_pipeline.kis.client import KisClient, KisResponse
from kis_pipeline.kis.errors import PayloadError

Row = TypeVar("Row")

MAX_TR_CONT_PAGES = 50
MAX_WINDOW_PAGES = 10_000


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
