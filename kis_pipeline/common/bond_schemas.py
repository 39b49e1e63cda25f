"""Schemas of `bond_prices`, one row per (date, symbol), an exchange-listed (KRX) bond's day,
and `bond_info`, one row per (as_of, symbol), a bond's terms as KIS described them that day.

Prices are what KIS sends: KRW per 10,000 KRW of face value (a bond at par reads 10,000);
`volume` is the face amount traded. The endpoint sends neither a traded value nor a yield.
Terms: face value and amounts in KRW, the coupon in percent a year, months between coupons.
"""

from __future__ import annotations

from kis_pipeline.common.activity_schemas import columns

BOND_PRICES = columns("date:D symbol:S open:F high:F low:F close:F volume")

BOND_INFO = columns(
    "as_of:D symbol:S name:S english_name:S classification:S face_value issue_amount "
    "listed_balance coupon_rate:F coupon_months issuer:S issue_date:D listing_date:D "
    "maturity_date:D redemption_date:D"
)
