"""KOSPI200 futures and options daily bars, inquire-daily-fuopchartprice FHKIF03020100
(the official sample `examples_llm/domestic_futureoption/inquire_daily_fuopchartprice`; SPEC
does not list it, what the pipeline relies on is in `docs/futures_options_daily.md`).

One call per code (`FID_INPUT_ISCD`, KRX's 8-character derivative short code, see
`common.krx_derivatives`) and date range: `output2` holds the daily bars, newest first, at most
100 a call; `output1` is the code's snapshot at its latest session (open interest, the KOSPI200
level, basis, KIS's theoretical price), with no date of its own. `FID_COND_MRKT_DIV_CODE` is
`F` for index futures and `O` for index options. The paper (mock) service answers the same
TR_ID, so the family runs there too.

The nightly chain: the two nearest quarterly futures, then the calls and puts of the front
option month at the strikes around the nearest futures' close of the day (ATM ±
`STRIKES_EACH_SIDE` strikes of 2.5 points). The futures close stands in for the KOSPI200
close because it is what the day's own first call returns; the two differ by the carry basis,
well under one strike step.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.common.derivative_schemas import FUTURES_OPTIONS_DAILY
from kis_pipeline.common.krx_derivatives import (
    FUTURE,
    FUTURES_MONTHS,
    STRIKES_EACH_SIDE,
    Contract,
    front_futures,
    option_chain,
)
from kis_pipeline.kis.endpoints._base import Endpoint
from kis_pipeline.kis.endpoints.prices import OHLC_ORDER, PRICES, ZERO_MEANS_NO_PRICE
from kis_pipeline.kis.parse import yyyymmdd
from kis_pipeline.kis.records import RecordSpec, field_map

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

TABLE = "futures_options_daily"
MARKETS = {"future": "F", "call": "O", "put": "O"}
BAR_FIELDS = field_map(
    """
    stck_bsop_date  date
    futs_oprc       open
    futs_hgpr       high
    futs_lwpr       low
    futs_prpr       close
    acml_vol        volume
    acml_tr_pbmn    value
    """
)
BAR_ROWS = RecordSpec(
    table=TABLE,
    schema=FUTURES_OPTIONS_DAILY,
    fields=BAR_FIELDS,
    no_trade=ZERO_MEANS_NO_PRICE,
    required=("date", "close", "volume"),
    positive=PRICES,
    non_negative=("volume", "value"),
    ordered=OHLC_ORDER,
)
SNAPSHOT_FIELDS = field_map(
    """
    hts_otst_stpl_qty  open_interest
    kospi200_nmix      underlying
    basis              basis
    hts_thpr           theoretical
    """
)
SNAPSHOT = pl.Schema({c: FUTURES_OPTIONS_DAILY[c] for c in SNAPSHOT_FIELDS.values()})
SNAPSHOT_ROWS = RecordSpec(
    table=TABLE,
    schema=SNAPSHOT,
    fields=SNAPSHOT_FIELDS,
    required=("open_interest", "underlying"),
    positive=("underlying",),
    non_negative=("open_interest",),
    date=None,
)
DAILY_CHART = Endpoint(
    "inquire-daily-fuopchartprice",
    "/uapi/domestic-futureoption/v1/quotations/inquire-daily-fuopchartprice",
    "FHKIF03020100",
    "output2",
    BAR_ROWS,
    section="docs/futures_options_daily.md",
)


def fetch_day(
    client: KisClient, contract: Contract, day: dt.date, *, snapshot: bool
) -> pl.DataFrame:
    """The contract's bar of `day` (no row when it did not trade or was not listed); with
    `snapshot`, the day is the code's latest session and `output1` fills its snapshot columns."""
    params = {
        "FID_COND_MRKT_DIV_CODE": MARKETS[contract.kind],
        "FID_INPUT_ISCD": contract.code,
        "FID_INPUT_DATE_1": yyyymmdd(day),
        "FID_INPUT_DATE_2": yyyymmdd(day),
        "FID_PERIOD_DIV_CODE": "D",
    }
    constants = {
        "symbol": contract.code,
        "kind": contract.kind,
        "expiry_month": contract.expiry_month,
        "strike": None if contract.kind == FUTURE else contract.strike,
    }
    response = DAILY_CHART.call(client, params)
    bars = DAILY_CHART.parse(client, response, "output2", BAR_ROWS, constants=constants).frame
    bars = bars.filter(pl.col("date") == day)
    if not snapshot or bars.is_empty():
        return bars
    state = DAILY_CHART.parse(
        client, response, "output1", SNAPSHOT_ROWS, constants={"symbol": contract.code}
    ).frame
    if state.is_empty():
        return bars
    return bars.with_columns(
        pl.lit(v, dtype=SNAPSHOT[c]).alias(c) for c, v in state.row(0, named=True).items()
    )


@dataclass(frozen=True)
class Chain:
    """A day's rows and the codes planned for it (none on a day the nearest futures did not
    trade: a closed day); `calls` is the number of calls made."""

    frame: pl.DataFrame
    planned: tuple[str, ...]
    calls: int


def calls_per_day(each_side: int = STRIKES_EACH_SIDE) -> int:
    return FUTURES_MONTHS + 2 * (2 * each_side + 1)


def fetch_chain(client: KisClient, day: dt.date, *, snapshot: bool) -> Chain:
    """The nightly chain of `day`: the nearest futures first, whose close centres the strikes."""
    futures = front_futures(day)
    frames = [fetch_day(client, contract, day, snapshot=snapshot) for contract in futures]
    nearest = frames[0]
    if nearest.is_empty():
        return Chain(nearest, (), len(futures))
    options = option_chain(day, nearest["close"][0])
    frames += [fetch_day(client, contract, day, snapshot=snapshot) for contract in options]
    planned = tuple(c.code for c in (*futures, *options))
    frame = pl.concat(frames, how="vertical").sort("symbol")
    return Chain(frame, planned, len(planned))
