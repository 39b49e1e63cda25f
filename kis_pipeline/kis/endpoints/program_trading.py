"""Program trading per stock per day, program-trade-by-stock-daily FHPPG04650201 (SPEC §9.6).

One call answers a run of sessions ending at `FID_INPUT_DATE_1` (the portal documents it as
`00YYYYMMDD`, which is what is sent); older days are reached by moving that date back. SPEC
gives no cap per call: 30 sessions, as KIS's other daily trends, is the planning figure.

Units are not stated: quantities are read as shares and amounts as KRW, the unit of the same
record's `acml_tr_pbmn`. The program net is the buy less the sell, never negative gross.
"""

from __future__ import annotations

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._trend import SYMBOL, SymbolTrend, Window, quotation
from kis_pipeline.kis.records import RecordSpec, field_map

PROGRAM_TRADING_FIELDS = field_map(
    """
    stck_bsop_date           date
    whol_smtn_shnu_vol       buy_volume
    whol_smtn_seln_vol       sell_volume
    whol_smtn_ntby_qty       net_volume
    whol_smtn_shnu_tr_pbmn   buy_value
    whol_smtn_seln_tr_pbmn   sell_value
    whol_smtn_ntby_tr_pbmn   net_value
    whol_ntby_vol_icdc       net_volume_change
    whol_ntby_tr_pbmn_icdc2  net_value_change
    stck_clpr                close
    prdy_vrss                change
    prdy_ctrt                change_rate
    acml_vol                 volume
    acml_tr_pbmn             value
    """
)
_GROSS = ("buy_volume", "sell_volume", "buy_value", "sell_value")
PROGRAM_TRADING_ROWS = RecordSpec(
    table="program_trading",
    schema=schemas.PROGRAM_TRADING,
    fields=PROGRAM_TRADING_FIELDS,
    required=("date", *_GROSS, "net_volume", "net_value"),
    positive=("close",),
    non_negative=(*_GROSS, "volume", "value"),
    # A program trade is a trade of the day: neither side can exceed the day's volume.
    ordered=(("buy_volume", "volume"), ("sell_volume", "volume")),
)
PROGRAM_TRADING = SymbolTrend(
    quotation("§9.6", "program-trade-by-stock-daily", "FHPPG04650201", PROGRAM_TRADING_ROWS),
    Window("FID_INPUT_DATE_1", prefix="00"),
    {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": SYMBOL},
    constants={"venue": "KRX"},
)
