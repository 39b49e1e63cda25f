"""Schema of the KOSPI200 futures and options daily bars (`inquire-daily-fuopchartprice`):
one row per (date, symbol), prices in index points, volume in contracts, value in KRW as KIS
sends it, open interest in contracts. The day's snapshot columns (open interest, the KOSPI200
level, basis, KIS's theoretical price) come from the call's `output1`, which describes the
code's latest session only: they are filled while the day is the newest session and null in
a backfill of an older day.
"""

from __future__ import annotations

from kis_pipeline.common.activity_schemas import columns

FUTURES_OPTIONS_DAILY = columns(
    "date:D symbol:S kind:S expiry_month:S strike:F open:F high:F low:F close:F volume value "
    "open_interest underlying:F basis:F theoretical:F"
)
DERIVATIVES = {"futures_options_daily": FUTURES_OPTIONS_DAILY}
