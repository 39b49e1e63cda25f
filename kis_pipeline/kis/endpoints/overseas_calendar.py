"""Overseas settlement-date calendar, countries-holiday CTOS5011R (SPEC §13.8).

One call per trade date (`TRAD_DT`): one row per overseas market that trades that day, with
the local and domestic settlement dates of a trade made then. SPEC names no business-day flag
among the fields, so a market absent from a day's answer is read as closed that day; each row
is matched to the exchanges of `common.overseas_exchanges` by its product type
(`prdt_type_cd`), which also carries the Shanghai and Shenzhen indices. A day KIS does not
know yet (KIOK0560, nothing to show) is None, never "all closed". The mock (paper) service
does not have this endpoint (SPEC §16).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.common.overseas_exchanges import EXCHANGES
from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._base import Endpoint
from kis_pipeline.kis.parse import conform, yyyymmdd
from kis_pipeline.kis.records import frame_from_rows

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

COUNTRIES_HOLIDAY = Endpoint(
    "countries-holiday",
    "/uapi/overseas-stock/v1/quotations/countries-holiday",
    "CTOS5011R",
    section="§13.8",
)
NOT_KNOWN = "KIOK0560"

# §13.8 output.
MARKET_FIELDS = {
    "prdt_type_cd": "product_type",
    "acpl_sttl_dt": "local_settlement_date",
    "dmst_sttl_dt": "domestic_settlement_date",
}
_MARKET_SCHEMA = pl.Schema(
    {
        "product_type": pl.String,
        "local_settlement_date": pl.Date,
        "domestic_settlement_date": pl.Date,
    }
)
_EXCHANGES = pl.DataFrame(
    {
        "exchange": [e.code for e in EXCHANGES.values()],
        "country": [e.country for e in EXCHANGES.values()],
        "product_type": [e.product_type for e in EXCHANGES.values()],
    }
)


def fetch_overseas_calendar_day(client: KisClient, day: dt.date) -> pl.DataFrame | None:
    """Every declared exchange on `day`: open or not, and the settlement dates of a trade made
    then (`schemas.OVERSEAS_CALENDAR`, one row per exchange); None when KIS does not know the
    day yet."""
    params = {"TRAD_DT": yyyymmdd(day), "CTX_AREA_NK": "", "CTX_AREA_FK": ""}
    response = COUNTRIES_HOLIDAY.call(client, params)
    if response.msg_cd == NOT_KNOWN:
        return None
    markets = frame_from_rows(
        COUNTRIES_HOLIDAY.records(response),
        rename=MARKET_FIELDS,
        schema=_MARKET_SCHEMA,
        where=COUNTRIES_HOLIDAY.where("output"),
        required=tuple(MARKET_FIELDS),
        keys=("prdt_type_cd",),
    ).unique("product_type", keep="first")
    frame = _EXCHANGES.join(markets, on="product_type", how="left").with_columns(
        date=pl.lit(day), is_open=pl.col("local_settlement_date").is_not_null()
    )
    return conform(frame, schemas.OVERSEAS_CALENDAR)
