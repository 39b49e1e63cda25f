"""Fetching one key (a symbol, a market) at a time over a shared client, a few at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import polars as pl

from kis_pipeline.kis.errors import BusinessError

# Keys fetched at once.
FETCH_WORKERS = 4


def fetch_each(
    keys: Sequence[str],
    fetch: Callable[[str], pl.DataFrame],
    schema: pl.Schema,
    *,
    on_key: Callable[[dict[str, str]], None] | None = None,
    name: str = "fetch",
) -> tuple[pl.DataFrame, dict[str, str]]:
    """`fetch(key)` for every key, concatenated; keys KIS rejects are reported, not fatal.

    `on_key` gets the failures so far after each key.
    """
    frames = [pl.DataFrame(schema=schema)]
    failures: dict[str, str] = {}

    def one(key: str) -> pl.DataFrame | str:
        try:
            return fetch(key)
        except BusinessError as exc:
            return str(exc)

    # Several keys walk at once, so that parsing one page overlaps the wait for the next
    # call's slot; the shared limiter still sets the pace.
    with ThreadPoolExecutor(max_workers=FETCH_WORKERS, thread_name_prefix=name) as pool:
        for key, result in zip(keys, pool.map(one, keys), strict=True):
            if isinstance(result, str):
                failures[key] = result
            else:
                frames.append(result)
            if on_key is not None:
                on_key(failures)
    return pl.concat(frames, how="vertical"), failures
