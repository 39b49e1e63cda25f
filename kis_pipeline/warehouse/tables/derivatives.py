"""KOSPI200 futures and options daily bars (`common.derivative_schemas`) and exchange-listed
bond bars (`common.bond_schemas`): one row per (date, symbol), a day's partition per session;
and the bonds' terms, one row per (as_of, symbol), a partition per as_of."""

from __future__ import annotations

from kis_pipeline.common.bond_schemas import BOND_INFO, BOND_PRICES
from kis_pipeline.common.derivative_schemas import FUTURES_OPTIONS_DAILY
from kis_pipeline.warehouse.tables.spec import TableSpec, register_table

register_table(
    TableSpec(
        "futures_options_daily",
        FUTURES_OPTIONS_DAILY,
        "date",
        "date",
        ("date", "symbol"),
        ("symbol", "date"),
        "One row per (date, symbol): the daily bar of the two nearest KOSPI200 futures and of "
        "the front month's calls and puts around the money.",
        gates=("unique_keys", "complete", "no_rejects"),
    )
)

register_table(
    TableSpec(
        "bond_prices",
        BOND_PRICES,
        "date",
        "date",
        ("date", "symbol"),
        ("symbol", "date"),
        "One row per (date, symbol): a KRX-listed bond's daily bar, prices in KRW per 10,000 "
        "KRW of face value, volume the face amount traded.",
        gates=("unique_keys", "complete", "no_rejects"),
    )
)

register_table(
    TableSpec(
        "bond_info",
        BOND_INFO,
        "date",
        "as_of",
        ("as_of", "symbol"),
        ("symbol", "as_of"),
        "One row per (as_of, symbol): a KRX-listed bond's terms as KIS described them that day: "
        "names, classification, face value, amounts issued and listed (KRW), coupon (% a year) "
        "and months between coupons, issuer, issue, listing, maturity and redemption dates.",
        gates=("unique_keys", "complete", "no_rejects"),
    )
)
