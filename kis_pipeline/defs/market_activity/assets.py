"""The market activity families, declared: each is a `SymbolTrend` (`kis.endpoints`), the time
its nightly run starts, and the rules its rows must meet beyond the record rules.

The nightly runs start after the investor flows (18:40 KST) and the rankings (18:45), in an
order that leaves the late-settling program trading last; they share the `kis_api` pool, so
they queue rather than split the request budget.
"""

from __future__ import annotations

import polars as pl

from kis_pipeline.defs.market_activity.factory import RowRule, TrendAsset, build
from kis_pipeline.kis.endpoints.trends import TRENDS

DECLARED = (
    TrendAsset(TRENDS["daily_trade_volume"], cron="50 18 * * 1-5"),
    TrendAsset(TRENDS["short_sales"], cron="55 18 * * 1-5"),
    TrendAsset(TRENDS["credit_balance"], cron="0 19 * * 1-5"),
    TrendAsset(TRENDS["lending_balance"], cron="5 19 * * 1-5"),
    TrendAsset(
        TRENDS["program_trading"],
        cron="15 19 * * 1-5",
        rules={
            "nets": RowRule(
                "The program net is the buy less the sell, in shares and in KRW.",
                (pl.col("net_volume") == pl.col("buy_volume") - pl.col("sell_volume"))
                & (pl.col("net_value") == pl.col("buy_value") - pl.col("sell_value")),
            )
        },
    ),
)
BUILT = {declared.table: build(declared) for declared in DECLARED}
