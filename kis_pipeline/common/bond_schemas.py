"""Schema of `bond_prices`: one row per (date, symbol), an exchange-listed (KRX) bond's day.

Prices are what KIS sends: KRW per 10,000 KRW of face value (a bond at par reads 10,000);
`volume` is the face amount traded. The endpoint sends neither a traded value nor a yield.
"""

from __future__ import annotations

from kis_pipeline.common.activity_schemas import columns

BOND_PRICES = columns("date:D symbol:S open:F high:F low:F close:F volume")
