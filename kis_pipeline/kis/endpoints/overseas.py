"""Overseas stock daily prices, dailyprice HHDFS76240000 (SPEC §13.3).

At most 100 rows per call, newest first, ending at `BYMD`: a range is fetched by walking `BYMD`
back to the day before the oldest row (SPEC §6.2). Dates are the exchange's own dates; prices
are floats in the exchange's currency (`currency` column), `value_local` too (no FX here).
KIS sends `diff` unsigned with the direction in `sign` (4/5 = down): `change` is signed.

A bar is declared as a `RecordSpec`, with the rules of a domestic bar: every price there,
positive and ordered (low <= open, close <= high), volume and value not negative. A bar that
breaks one is refused into the client's rejects alone.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.common.overseas_exchanges import DAY_SESSION_CODES, EXCHANGES
from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._base import Endpoint
from kis_pipeline.kis.endpoints.prices import OHLC_ORDER, PRICES
from kis_pipeline.kis.errors import KisError
from kis_pipeline.kis.paging import walk_frames
from kis_pipeline.kis.parse import conform, yyyymmdd
from kis_pipeline.kis.records import RecordSpec

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

OVERSEAS_DAILY_PATH = "/uapi/overseas-price/v1/quotations/dailyprice"
OVERSEAS_DAILY_TR_ID = "HHDFS76240000"
OVERSEAS_DAILY_PAGE_ROWS = 100
# MODP: 0 = unadjusted, 1 = split-adjusted (SPEC §13.3).
ADJUSTED_FLAG = {True: "1", False: "0"}
DOWN_SIGNS = ("4", "5")

# Quote exchange codes (SPEC §18.16) -> trading currency.
CURRENCIES = {
    **{code: exchange.currency for code, exchange in EXCHANGES.items()},
    **dict.fromkeys(DAY_SESSION_CODES, "USD"),
}

# §13.3 output2.
OVERSEAS_BAR_FIELDS = {
    "xymd": "date",
    "open": "open",
    "high": "high",
    "low": "low",
    "clos": "close",
    "tvol": "volume",
    "tamt": "value_local",
    "diff": "change",
    "rate": "change_rate",
    "sign": "_sign",
}
OVERSEAS_BAR_REQUIRED = ("xymd", "open", "high", "low", "clos", "tvol")
_PAGE_SCHEMA = pl.Schema({**schemas.OVERSEAS_DAILY_PRICES, "_sign": pl.String})
OVERSEAS_BARS = RecordSpec(
    table="overseas_daily_prices",
    schema=_PAGE_SCHEMA,
    fields=OVERSEAS_BAR_FIELDS,
    carried=OVERSEAS_BAR_REQUIRED,
    required=("date", *PRICES, "volume"),
    positive=PRICES,
    non_negative=("volume", "value_local"),
    ordered=OHLC_ORDER,
)

OVERSEAS_DAILY = Endpoint(
    "overseas-dailyprice",
    OVERSEAS_DAILY_PATH,
    OVERSEAS_DAILY_TR_ID,
    container="output2",
    rows=OVERSEAS_BARS,
    page_rows=OVERSEAS_DAILY_PAGE_ROWS,
)


class NotListed(KisError):
    """KIS answered for an (exchange, ticker) it does not list: output1's `rsym` is blank and
    there are no rows (an unknown ticker is not an error code at KIS)."""


def fetch_overseas_daily(
    client: KisClient,
    exchange: str,
    symbol: str,
    start: dt.date,
    end: dt.date,
    *,
    adjusted: bool = False,
) -> pl.DataFrame:
    """Daily bars of an overseas stock, dailyprice HHDFS76240000 (SPEC §13.3).

    `exchange` is a quote code (`NAS`, `NYS`, `AMS`, `HKS`, `TSE`, ...). Returns
    `schemas.OVERSEAS_DAILY_PRICES`, one row per exchange trading day in [start, end],
    ascending; unadjusted unless `adjusted`. Raises `NotListed` for a ticker the exchange
    does not list.
    """
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    constants = {
        "exchange": exchange,
        "symbol": symbol,
        "currency": CURRENCIES.get(exchange),
        "is_adjusted": adjusted,
    }

    def fetch_page(window_end: dt.date) -> pl.DataFrame:
        params = {
            "AUTH": "",
            "EXCD": exchange,
            "SYMB": symbol,
            "GUBN": "0",
            "BYMD": yyyymmdd(window_end),
            "MODP": ADJUSTED_FLAG[adjusted],
            "KEYB": "",
        }
        response = OVERSEAS_DAILY.call(client, params)
        meta = response.body.get("output1")
        blank = isinstance(meta, dict) and not str(meta.get("rsym", "x")).strip()
        if blank and not response.body.get("output2"):
            raise NotListed(
                f"{symbol} is not listed on {exchange} (KIS knows no such ticker there)"
            )
        page = OVERSEAS_DAILY.parse(
            client, response, OVERSEAS_DAILY.container, OVERSEAS_BARS, constants=constants
        ).frame
        signed = (
            pl.when(pl.col("_sign").is_in(DOWN_SIGNS))
            .then(-pl.col("change").abs())
            .when(pl.col("_sign").is_not_null())
            .then(pl.col("change").abs())
            .otherwise(pl.col("change"))
        )
        return conform(page.with_columns(change=signed), schemas.OVERSEAS_DAILY_PRICES)

    return walk_frames(
        fetch_page,
        start=start,
        end=end,
        schema=schemas.OVERSEAS_DAILY_PRICES,
        page_rows=OVERSEAS_DAILY.page_rows,
    )
