"""Buy and sell executed volume per stock per day, inquire-daily-trade-volume FHKST03010800
(SPEC §9.12).

A range endpoint (`FID_INPUT_DATE_1` from, `FID_INPUT_DATE_2` to, period `D`) of at most 100
records a call in `output2`; a longer range walks the end back. The day's volume split by the
side that took the trade, in shares; `output1`'s totals over the range are not stored.
"""

from __future__ import annotations

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._trend import SYMBOL, SymbolTrend, Window, quotation
from kis_pipeline.kis.records import RecordSpec, field_map

DAILY_TRADE_VOLUME_FIELDS = field_map(
    """
    stck_bsop_date  date
    total_shnu_qty  buy_volume
    total_seln_qty  sell_volume
    """
)
TRADE_VOLUME_ROWS = RecordSpec(
    table="daily_trade_volume",
    schema=schemas.DAILY_TRADE_VOLUME,
    fields=DAILY_TRADE_VOLUME_FIELDS,
    required=("date", "buy_volume", "sell_volume"),
    non_negative=("buy_volume", "sell_volume"),
)
DAILY_TRADE_VOLUME = SymbolTrend(
    quotation("§9.12", "inquire-daily-trade-volume", "FHKST03010800", TRADE_VOLUME_ROWS, "output2"),
    Window("FID_INPUT_DATE_2", start="FID_INPUT_DATE_1", rows=100),
    {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": SYMBOL, "FID_PERIOD_DIV_CODE": "D"},
    constants={"venue": "KRX"},
)
