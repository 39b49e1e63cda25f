"""Condition search (SPEC §7.12): a user's saved screening conditions (`psearch-title`,
HHKST03900300) and the names one of them matches now (`psearch-result`, HHKST03900400, at most
100, best first).

A condition is named as the HTS shows it; its key (`seq`) comes from the titles, one call. KIS
answers a screen that matched nothing with MCA05918 ("종목코드 오류입니다."): an empty result
here. Numbers are fixed-width with four decimals (stripped by the parser); the market cap is
KRW 100 million and leaves in KRW.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints._base import Endpoint
from kis_pipeline.kis.endpoints._trend import QUOTATIONS, quotation
from kis_pipeline.kis.errors import BusinessError, KisConfigError
from kis_pipeline.kis.parse import KRW_PER_HUNDRED_MILLION
from kis_pipeline.kis.records import RecordSpec, field_map

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

EMPTY_SCREEN = "MCA05918"
CONDITION_ROWS = RecordSpec(
    table="condition_results",
    schema=schemas.ALL["condition_results"],
    fields=field_map(
        """
        code        symbol
        name        name
        price       price
        change      change
        chgrate     change_rate
        acml_vol    volume
        trade_amt   value
        high52      high52
        low52       low52
        recprice    base_price
        stotprice   market_cap
        """
    ),
    scale={"market_cap": KRW_PER_HUNDRED_MILLION},
    required=("symbol", "price"),
    positive=("price",),
    non_negative=("volume", "value", "market_cap"),
    patterns={"symbol": r"^[0-9A-Z]{6}$"},
    date="as_of",
)
# The titles are read, not stored: no record spec.
TITLES = Endpoint(
    "psearch-title", f"{QUOTATIONS}/psearch-title", "HHKST03900300", "output2", section="§7.12"
)
RESULT = quotation("§7.12", "psearch-result", "HHKST03900400", CONDITION_ROWS, "output2")


def condition_key(client: KisClient, user_id: str, name: str) -> str:
    """The `seq` of the saved condition called `name`; KisConfigError naming the saved ones
    when there is none."""
    titles = TITLES.records(TITLES.call(client, {"user_id": user_id}))
    found = {row.get("condition_nm", ""): row.get("seq", "") for row in titles}
    if name not in found:
        saved = ", ".join(sorted(n for n in found if n)) or "none"
        raise KisConfigError(
            f"KIS_CONDITION={name!r} is not a condition {user_id} has saved to the KIS server "
            f"(saved: {saved}); save it from the HTS [0110] screen or name one of those"
        )
    return found[name]


def fetch_condition(client: KisClient, user_id: str, name: str, as_of: dt.date) -> pl.DataFrame:
    """The names condition `name` matches now, best first (`rank` from 1), stamped `as_of`."""
    seq = condition_key(client, user_id, name)
    constants = {"as_of": as_of, "condition": name}
    try:
        frame = RESULT.fetch(client, {"user_id": user_id, "seq": seq}, constants=constants).frame
    except BusinessError as exc:
        if exc.msg_cd == EMPTY_SCREEN:
            return pl.DataFrame(schema=CONDITION_ROWS.schema)
        raise
    ranks = pl.int_range(1, frame.height + 1, dtype=pl.Int64)
    return frame.with_columns(ranks.alias("rank")).select(CONDITION_ROWS.schema.names())
