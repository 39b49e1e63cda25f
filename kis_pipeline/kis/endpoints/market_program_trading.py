"""Program trading of a whole market per day, comp-program-trade-daily FHPPG04600001 (SPEC §9.8).

One call per market (`FID_MRKT_CLS_CODE` `K` KOSPI, `Q` KOSDAQ) answers a run of sessions
ending at `FID_INPUT_DATE_1` (blank: today); `FID_INPUT_DATE_2` is sent blank, as SPEC says.
SPEC documents no paging and no cap: older days are reached by moving `FID_INPUT_DATE_1` back,
30 sessions a call is the planning figure, and KIS refuses a date more than about eight months
back, so a run skips the days older than `KEPT` (one line, no call, no write).

Each record splits the program trades into arbitrage and non-arbitrage ones, each bought, sold
and net, and gives their sum bought and sold (KIS sends no net of the sum). Units are not
stated: shares and KRW, as in the per-stock program trading (§9.6).
"""

from __future__ import annotations

import datetime as dt

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._trend import KEY, SymbolTrend, Window, quotation
from kis_pipeline.kis.records import RecordSpec, field_map

# `<part>_smtn_<figure>` -> `<part>_<column>`, for the arbitrage and non-arbitrage parts.
_PARTS = {"arbt": "arbitrage", "nabt": "non_arbitrage"}
_FIGURES = field_map(
    """
    shnu_vol       buy_volume
    seln_vol       sell_volume
    ntby_qty       net_volume
    shnu_tr_pbmn   buy_value
    seln_tr_pbmn   sell_value
    ntby_tr_pbmn   net_value
    """
)
_GROSS = ("buy_volume", "sell_volume", "buy_value", "sell_value")
MARKET_PROGRAM_TRADING_FIELDS = {
    "stck_bsop_date": "date",
    **{
        f"{kis_part}_smtn_{kis}": f"{part}_{column}"
        for kis_part, part in _PARTS.items()
        for kis, column in _FIGURES.items()
    },
    **{f"whol_smtn_{kis}": column for kis, column in _FIGURES.items() if column in _GROSS},
}
_ALL_GROSS = (*_GROSS, *(f"{part}_{column}" for part in _PARTS.values() for column in _GROSS))
MARKET_PROGRAM_TRADING_ROWS = RecordSpec(
    table="market_program_trading",
    schema=schemas.MARKET_PROGRAM_TRADING,
    fields=MARKET_PROGRAM_TRADING_FIELDS,
    required=tuple(MARKET_PROGRAM_TRADING_FIELDS.values()),
    non_negative=_ALL_GROSS,
    # A part of the program trades never outgrows their sum.
    ordered=tuple((f"{part}_{column}", column) for part in _PARTS.values() for column in _GROSS),
    symbol="market",
)
# About eight months, a few days short of them so that a run's first day is never refused.
KEPT = dt.timedelta(days=240)
MARKETS = {"KOSPI": "K", "KOSDAQ": "Q"}
MARKET_PROGRAM_TRADING = SymbolTrend(
    quotation("§9.8", "comp-program-trade-daily", "FHPPG04600001", MARKET_PROGRAM_TRADING_ROWS),
    Window("FID_INPUT_DATE_1"),
    {"FID_COND_MRKT_DIV_CODE": "J", "FID_MRKT_CLS_CODE": KEY, "FID_INPUT_DATE_2": ""},
    constants={"venue": "KRX"},
    key="market",
    keys=MARKETS,
    kept=KEPT,
)
