"""Domestic market calendar, chk-holiday CTCA0903R (SPEC §11.1).

KIS asks that this be called at most once a day (it hits the core ledger), and one call covers
about three weeks from `BASS_DT`. So by default one call is made; with `end` the calendar is
extended up to `max_calls` calls: first by following the body's `ctx_area_nk`/`ctx_area_fk`
while the response header `tr_cont` says more (the official sample's way), then by moving
`BASS_DT` to the day after the newest date returned (SPEC §6.4). A page that adds no newer date
ends the walk.

Columns: `is_market_open` and `is_trading_day` both come from `opnd_yn` (the exchange holds a
session), as SPEC §18.15 advises; KIS's `tr_day_yn` is "Y" even on weekends in the portal's own
example (securities business incl. transfers), so it is kept apart as
`is_securities_business_day`. `bzdy_yn` -> `is_business_day`, `sttl_day_yn` ->
`is_settlement_day`.

Unlike the other endpoints, a malformed day fails the whole answer (`PayloadError`) instead of
being refused alone: a calendar with a day missing would call that day closed, and every
partition built on it would be wrong. The run fails and is retried on the next tick.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._base import Endpoint
from kis_pipeline.kis.paging import follow_tr_cont
from kis_pipeline.kis.parse import conform, yyyymmdd
from kis_pipeline.kis.records import frame_from_rows

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient, KisResponse

HOLIDAY_PATH = "/uapi/domestic-stock/v1/quotations/chk-holiday"
HOLIDAY_TR_ID = "CTCA0903R"
DEFAULT_MAX_CALLS = 6
CONTEXT_KEYS = {"ctx_area_nk": "CTX_AREA_NK", "ctx_area_fk": "CTX_AREA_FK"}

# §11.1 output.
CALENDAR_FIELDS = {
    "bass_dt": "date",
    "bzdy_yn": "is_business_day",
    "opnd_yn": "is_market_open",
    "sttl_day_yn": "is_settlement_day",
    "tr_day_yn": "is_securities_business_day",
}
CALENDAR_REQUIRED = ("bass_dt", "bzdy_yn", "tr_day_yn", "opnd_yn", "sttl_day_yn")

HOLIDAYS = Endpoint("chk-holiday", HOLIDAY_PATH, HOLIDAY_TR_ID)


def fetch_trading_calendar(
    client: KisClient,
    base_date: dt.date,
    *,
    end: dt.date | None = None,
    max_calls: int = DEFAULT_MAX_CALLS,
) -> pl.DataFrame:
    """Market calendar from `base_date`, chk-holiday CTCA0903R (SPEC §11.1).

    One call without `end` (about three weeks of days); with `end`, up to `max_calls` calls
    until `end` is covered (the result may stop short of `end` at the cap). Returns
    `schemas.TRADING_CALENDAR`, one row per calendar day from `base_date` (to `end`), ascending.
    """
    if end is not None and end < base_date:
        raise ValueError(f"end {end} is before base_date {base_date}")
    if max_calls < 1:
        raise ValueError("max_calls must be at least 1")
    pages: list[pl.DataFrame] = []
    newest: dt.date | None = None
    calls = 0
    cursor = base_date
    while True:
        params = {"BASS_DT": yyyymmdd(cursor), "CTX_AREA_NK": "", "CTX_AREA_FK": ""}
        progressed = False
        chain = follow_tr_cont(
            client, HOLIDAY_PATH, HOLIDAY_TR_ID, params, context_keys=CONTEXT_KEYS
        )
        for response in chain:
            calls += 1
            page = _parse(response)
            page_newest = page["date"].max() if page.height else None
            if page_newest is None or (newest is not None and page_newest <= newest):
                progressed = False
                break
            pages.append(page)
            newest = page_newest
            progressed = True
            if end is None or newest >= end or calls >= max_calls:
                break
        chain.close()
        if end is None or not progressed or newest is None or newest >= end:
            break
        if calls >= max_calls:
            break
        cursor = newest + dt.timedelta(days=1)

    frame = pl.concat([pl.DataFrame(schema=schemas.TRADING_CALENDAR), *pages], how="vertical")
    frame = frame.filter(pl.col("date") >= base_date)
    if end is not None:
        frame = frame.filter(pl.col("date") <= end)
    frame = frame.unique(subset=["date"], keep="first", maintain_order=True).sort("date")
    return conform(
        frame.with_columns(is_trading_day=pl.col("is_market_open")), schemas.TRADING_CALENDAR
    )


def _parse(response: KisResponse) -> pl.DataFrame:
    return frame_from_rows(
        HOLIDAYS.records(response),
        rename=CALENDAR_FIELDS,
        schema=schemas.TRADING_CALENDAR,
        where=HOLIDAYS.where("output"),
        required=CALENDAR_REQUIRED,
        keys=("bass_dt",),
    )
