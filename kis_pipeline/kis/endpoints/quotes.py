"""Multi-symbol quote, intstock-multprice (SPEC §7.11): up to 30 symbols per call.

KIS drops a 31st symbol without an error and answers an unknown code with a row of empty
strings, so this module owns the bookkeeping that makes sure no symbol is lost or mixed up:
- symbols are de-duplicated (order kept) and sent in batches of 30, one call per batch;
- rows are mapped back by the code KIS returns (`inter_shrn_iscd`), not by position alone;
- a requested symbol with no row of its own is "unknown" only when a row of empty strings
  accounts for it; otherwise the batch raises `PayloadError` naming the lost symbols;
- a returned code that was not requested, a code returned twice, or a row with data but no
  code also raise `PayloadError` (a shifted row would give one symbol another's prices).
Unknown symbols are reported, not raised: the frame keeps one row per requested symbol with
`found = False` and null measures, and a warning names them; `unknown_symbols()` lists them.
Raising would let one delisted code fail the whole nightly batch.

A row with data is declared as a `RecordSpec` (`MULTI_QUOTE_ROWS`): price, volume and the
base prices there, prices positive and ordered (low <= open, price <= high), volume and value
not negative. A row that breaks one is refused into the client's rejects (for the table that
the nightly fills, `daily_prices`) and its symbol is left out of the frame: neither found nor
unknown.

Units: prices as KIS sends them (KRW for stocks, index points for `U` rows); volume shares and
`value` KRW for stocks. Index rows use other units for volume/value (SPEC §7.11) and are not
converted. Zero open/high/low/bid/ask on an untraded (halted) symbol become null and
`is_traded` is False: a 0 is not a price. There is no date: stamp it from the calendar.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._base import Endpoint, venue_of
from kis_pipeline.kis.endpoints.prices import QUOTE_ORDER
from kis_pipeline.kis.errors import PayloadError
from kis_pipeline.kis.parse import (
    conform,
    is_blank_row,
    rows_of,
    zero_to_null,
)
from kis_pipeline.kis.records import RecordSpec

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

log = logging.getLogger(__name__)

MULTI_QUOTE_PATH = "/uapi/domestic-stock/v1/quotations/intstock-multprice"
MULTI_QUOTE_TR_ID = "FHKST11300006"
MAX_SYMBOLS_PER_CALL = 30

MULTI_QUOTE_FIELDS = {
    "inter_shrn_iscd": "symbol",
    "inter_kor_isnm": "name",
    "inter2_prpr": "price",
    "inter2_prdy_vrss": "change",
    "prdy_ctrt": "change_rate",
    "inter2_oprc": "open",
    "inter2_hgpr": "high",
    "inter2_lwpr": "low",
    "acml_vol": "volume",
    "acml_tr_pbmn": "value",
    "inter2_prdy_clpr": "prev_close",
    "inter2_sdpr": "base_price",
    "inter2_mxpr": "upper_limit",
    "inter2_llam": "lower_limit",
    "inter2_askp": "ask",
    "inter2_bidp": "bid",
    "seln_rsqn": "ask_volume",
    "shnu_rsqn": "bid_volume",
    "total_askp_rsqn": "total_ask_volume",
    "total_bidp_rsqn": "total_bid_volume",
    "oprc_vrss_hgpr_rate": "high_vs_open_rate",
    "intr_antc_cntg_vrss": "expected_change",
    "intr_antc_cntg_prdy_ctrt": "expected_change_rate",
    "intr_antc_vol": "expected_volume",
}
MULTI_QUOTE_REQUIRED = (
    "inter_shrn_iscd",
    "inter2_prpr",
    "inter2_prdy_vrss",
    "prdy_ctrt",
    "acml_vol",
    "inter2_oprc",
    "inter2_hgpr",
    "inter2_lwpr",
    "acml_tr_pbmn",
    "inter2_prdy_clpr",
    "inter2_sdpr",
)
# KIS reports these as 0 when the symbol did not trade today; 0 is not a price.
ZERO_MEANS_NO_PRICE = ("open", "high", "low", "ask", "bid")

_PRICES = ("open", "high", "low", "price")
MULTI_QUOTE_ROWS = RecordSpec(
    table="daily_prices",
    schema=schemas.MULTI_QUOTE,
    fields=MULTI_QUOTE_FIELDS,
    carried=MULTI_QUOTE_REQUIRED,
    # An untraded symbol's open, high and low are all 0: no price, not a zero price.
    no_trade=("open", "high", "low"),
    required=("symbol", "price", "volume", "prev_close", "base_price"),
    positive=(*_PRICES, "prev_close", "base_price"),
    non_negative=("volume", "value"),
    ordered=QUOTE_ORDER,
    date=None,
)

MULTI_QUOTE = Endpoint("intstock-multprice", MULTI_QUOTE_PATH, MULTI_QUOTE_TR_ID)


def fetch_multi_quote(
    client: KisClient, symbols: Sequence[str], *, market: str = "J"
) -> pl.DataFrame:
    """Quotes of many symbols, intstock-multprice FHKST11300006 (SPEC §7.11).

    ceil(n / 30) calls for n distinct symbols. Returns `schemas.MULTI_QUOTE`, one row per
    distinct requested symbol in request order; unknown codes come back with `found = False`
    (see the module docstring). `market` is the division code of every slot (`J`, `NX`, `UN`,
    or `U` for index codes).
    """
    wanted = list(dict.fromkeys(symbol.strip() for symbol in symbols))
    if any(symbol == "" for symbol in wanted):
        raise ValueError("blank symbol in the multi-quote request")
    frames = [
        _fetch_batch(client, wanted[i : i + MAX_SYMBOLS_PER_CALL], market)
        for i in range(0, len(wanted), MAX_SYMBOLS_PER_CALL)
    ]
    if not frames:
        return pl.DataFrame(schema=schemas.MULTI_QUOTE)
    frame = pl.concat(frames, how="vertical")
    unknown = unknown_symbols(frame)
    if unknown:
        log.warning(
            "%s: KIS returned empty rows for %d unknown symbol(s): %s",
            MULTI_QUOTE.where(),
            len(unknown),
            ", ".join(unknown),
        )
    return frame


def unknown_symbols(frame: pl.DataFrame) -> list[str]:
    """The symbols of a multi-quote frame that KIS answered with an empty row."""
    return frame.filter(~pl.col("found"))["symbol"].to_list()


def _params(batch: Sequence[str], market: str) -> dict[str, str]:
    # Unpadded slot numbers from 1, consecutive, unused slots left out (SPEC §7.11).
    params: dict[str, str] = {}
    for slot, symbol in enumerate(batch, start=1):
        params[f"FID_COND_MRKT_DIV_CODE_{slot}"] = market
        params[f"FID_INPUT_ISCD_{slot}"] = symbol
    return params


def _code_key(code: str) -> str:
    # ETN codes are requested with a Q prefix (SPEC §1); accept the echo with or without it.
    return code[1:] if len(code) == 7 and code.startswith("Q") else code


def _fetch_batch(client: KisClient, batch: list[str], market: str) -> pl.DataFrame:
    if len(batch) > MAX_SYMBOLS_PER_CALL:
        raise ValueError(f"at most {MAX_SYMBOLS_PER_CALL} symbols per call, got {len(batch)}")
    where = MULTI_QUOTE.where("output")
    response = MULTI_QUOTE.call(client, _params(batch, market))
    rows = rows_of(response.body, "output", where=where)
    if len(rows) > len(batch):
        raise PayloadError(f"{where}: {len(rows)} rows for {len(batch)} requested symbols")

    requested = {_code_key(symbol): symbol for symbol in batch}
    by_symbol: dict[str, dict[str, str]] = {}
    empty_rows = 0
    for row in rows:
        if is_blank_row(row):
            empty_rows += 1
            continue
        code = row.get("inter_shrn_iscd", "")
        if code == "":
            raise PayloadError(f"{where}: a row with data has a blank 'inter_shrn_iscd'")
        symbol = requested.get(_code_key(code))
        if symbol is None:
            raise PayloadError(f"{where}: KIS returned code {code!r}, which was not requested")
        if symbol in by_symbol:
            raise PayloadError(f"{where}: KIS returned code {code!r} twice")
        by_symbol[symbol] = row

    missing = [symbol for symbol in batch if symbol not in by_symbol]
    if len(missing) != empty_rows:
        raise PayloadError(
            f"{where}: no row for {', '.join(missing)} "
            f"({empty_rows} empty row(s) for {len(missing)} missing symbol(s))"
        )

    found = [by_symbol[symbol] for symbol in batch if symbol in by_symbol]
    split = MULTI_QUOTE.parse_rows(
        client, found, "output", MULTI_QUOTE_ROWS, constants={"found": True}
    )
    # The frame carries the code as requested (Q prefix kept), whatever KIS echoed.
    parsed = split.frame.with_columns(
        symbol=pl.col("symbol").replace_strict(
            {row["inter_shrn_iscd"]: symbol for symbol, row in by_symbol.items()},
            return_dtype=pl.String,
        )
    )
    unknown = pl.DataFrame(
        {"symbol": missing, "found": [False] * len(missing)},
        schema={"symbol": pl.String, "found": pl.Boolean},
    )
    frame = pl.concat([parsed, unknown], how="diagonal_relaxed")
    order = {symbol: i for i, symbol in enumerate(batch)}
    frame = (
        zero_to_null(frame, ZERO_MEANS_NO_PRICE)
        .with_columns(
            is_traded=pl.when(pl.col("found")).then(pl.col("volume") > 0),
            venue=pl.lit(venue_of(market)),
        )
        .sort(pl.col("symbol").replace_strict(order, return_dtype=pl.Int64))
    )
    return conform(frame, schemas.MULTI_QUOTE)
