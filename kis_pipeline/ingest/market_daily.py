"""`market_daily` from what the warehouse holds, point in time and with no call: each session's
closes (`daily_prices`), the listed shares of the newest master snapshot on or before it
(`symbols`), and the newest annual EPS and BPS KIS showed by then (`financial_ratios`, by
`as_of`). Market cap is close × listed shares, PER close / EPS, PBR close / BPS (null where the
EPS or BPS is not positive)."""

from __future__ import annotations

import polars as pl

from kis_pipeline.common.company_schemas import MARKET_DAILY


def newest_annual(ratios: pl.DataFrame) -> pl.DataFrame:
    """(as_of, symbol, period, eps, bps) of the newest annual period in each snapshot."""
    annual = ratios.filter(pl.col("period_type") == "annual")
    return (
        annual.sort("period")
        .group_by("as_of", "symbol")
        .agg(pl.col("period").last(), pl.col("eps").last(), pl.col("bps").last())
        .sort("as_of")
    )


def build(daily: pl.DataFrame, shares: pl.DataFrame, ratios: pl.DataFrame) -> pl.DataFrame:
    """`daily` (date, symbol, close), `shares` (date, symbol, listed_shares: the master
    snapshots), `ratios` (the `financial_ratios` rows): one `MARKET_DAILY` row per close."""
    closes = daily.filter(pl.col("close").is_not_null()).select("date", "symbol", "close")
    snapshots = shares.select(pl.col("date").alias("shares_as_of"), "symbol", "listed_shares").sort(
        "shares_as_of"
    )
    figures = newest_annual(ratios).rename({"as_of": "statements_as_of"})
    # Both sides are sorted by their dates above; polars cannot verify it within `by` groups.
    asof = {"by": "symbol", "check_sortedness": False}
    frame = (
        closes.sort("date")
        .join_asof(snapshots, left_on="date", right_on="shares_as_of", **asof)
        .join_asof(figures, left_on="date", right_on="statements_as_of", **asof)
    )
    positive = {c: pl.when(pl.col(c) > 0).then(pl.col(c)) for c in ("eps", "bps")}
    frame = frame.with_columns(
        (pl.col("close") * pl.col("listed_shares")).alias("market_cap"),
        (pl.col("close") / positive["eps"]).round(2).alias("per"),
        (pl.col("close") / positive["bps"]).round(2).alias("pbr"),
        pl.lit(None, pl.Float64).alias("foreign_ratio"),
        pl.lit(None, pl.Float64).alias("foreign_limit_exhaustion"),
    )
    return frame.select(MARKET_DAILY.names()).cast(dict(MARKET_DAILY)).sort("date", "symbol")  # type: ignore[arg-type]
