"""Short sales per stock per day, daily-short-sale FHPST04830000 (SPEC §9.10).

A range endpoint: `FID_INPUT_DATE_1` to `FID_INPUT_DATE_2`, records in `output2`. SPEC gives
no cap per call, so the walk moves the end before the oldest record until the range is
covered; 100 sessions, as the other range endpoints of §9, is the planning figure.

Quantities in shares, amounts in KRW (the unit of the record's own `acml_tr_pbmn`); the
shares of the day's volume and value are percent. KIS's cumulative columns are not stored:
they add up from the first day of the request's window.
"""

from __future__ import annotations

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._trend import SYMBOL, SymbolTrend, Window, quotation
from kis_pipeline.kis.endpoints.prices import OHLC_ORDER, PRICES, ZERO_MEANS_NO_PRICE
from kis_pipeline.kis.records import RecordSpec, field_map

SHORT_SALES_FIELDS = field_map(
    """
    stck_bsop_date     date
    ssts_cntg_qty      short_volume
    ssts_tr_pbmn       short_value
    ssts_vol_rlim      short_volume_share
    ssts_tr_pbmn_rlim  short_value_share
    stnd_vol_smtn      base_volume
    stnd_tr_pbmn_smtn  base_value
    stck_clpr          close
    prdy_vrss          change
    prdy_ctrt          change_rate
    acml_vol           volume
    acml_tr_pbmn       value
    stck_oprc          open
    stck_hgpr          high
    stck_lwpr          low
    avrg_prc           average_price
    """
)
SHORT_SALES_ROWS = RecordSpec(
    table="short_sales",
    schema=schemas.SHORT_SALES,
    fields=SHORT_SALES_FIELDS,
    no_trade=ZERO_MEANS_NO_PRICE,
    required=("date", "short_volume", "short_value", "volume", "value"),
    positive=PRICES,
    non_negative=("short_volume", "short_value", "volume", "value"),
    # Short sales are part of the day's trading.
    ordered=(*OHLC_ORDER, ("short_volume", "volume"), ("short_value", "value")),
)
# SPEC states no cap: the range is asked for whole and the walk follows any cap it meets; a
# hundred sessions, as the other range endpoints of §9, is the plan's estimate.
SHORT_SALES = SymbolTrend(
    quotation("§9.10", "daily-short-sale", "FHPST04830000", SHORT_SALES_ROWS, "output2"),
    Window("FID_INPUT_DATE_2", start="FID_INPUT_DATE_1"),
    {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": SYMBOL},
    sessions=100,
)
