"""Recent executions, inquire-ccnl FHKST01010300 (SPEC §7.7): a symbol's 30 newest trades.

KIS answers them newest first, with no paging and no date: each carries only its time of day
(HHMMSS, KST), price, change, volume and the day's trade strength. The frame is oldest first,
so it reads in the order the trades happened; `time` stays text for the caller to place on its
session date. The tick collector uses it to fill a hole in its trades after a reconnect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._base import Endpoint, venue_of
from kis_pipeline.kis.records import frame_from_rows

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

RECENT_EXECUTIONS = Endpoint(
    "inquire-ccnl", "/uapi/domestic-stock/v1/quotations/inquire-ccnl", "FHKST01010300"
)
RECENT_EXECUTION_FIELDS = {
    "stck_cntg_hour": "time",
    "stck_prpr": "price",
    "prdy_vrss": "change",
    "prdy_vrss_sign": "change_sign",
    "prdy_ctrt": "change_rate",
    "cntg_vol": "volume",
    "tday_rltv": "trade_strength",
}
RECENT_EXECUTION_REQUIRED = ("stck_cntg_hour", "stck_prpr", "cntg_vol")


def fetch_recent_executions(client: KisClient, symbol: str, *, market: str = "J") -> pl.DataFrame:
    """The newest executions of `symbol` (at most 30), oldest first (SPEC §7.7)."""
    params = {"FID_COND_MRKT_DIV_CODE": market, "FID_INPUT_ISCD": symbol}
    response = RECENT_EXECUTIONS.call(client, params)
    frame = frame_from_rows(
        reversed(RECENT_EXECUTIONS.records(response)),
        rename=RECENT_EXECUTION_FIELDS,
        schema=schemas.RECENT_EXECUTIONS,
        where=RECENT_EXECUTIONS.where("output"),
        required=RECENT_EXECUTION_REQUIRED,
        keys=RECENT_EXECUTION_REQUIRED,
        constants={"symbol": symbol, "venue": venue_of(market)},
    )
    return frame
