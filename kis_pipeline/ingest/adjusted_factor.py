"""Whether adjusted prices stay on one basis: the rule both the restatement (which history to
fetch again) and the price checks (which rows offend) apply."""

from __future__ import annotations

import polars as pl

# adj_factor is adjusted close / raw close, both rounded to whole won: allow that rounding.
FACTOR_TOLERANCE = 0.02
# Event codes that reset the price basis in ways other than a plain split (SPEC §7.3):
# ex-rights and revaluations, where any factor jump is legitimate.
BASIS_RESET_CODES = ("01", "04", "06", "07")


def factor_breaks(adjusted: pl.DataFrame, raw: pl.DataFrame) -> pl.DataFrame:
    """(date, symbol) where the adjusted factor jumps by other than the day's split ratio.

    For consecutive rows a < b of one symbol, adj_factor(a) / adj_factor(b) must equal the
    split ratio KIS reports on day b (`split_ratio`, new basis over old close), or 1 on days
    without a split. Days with another basis-resetting event are not judged.
    """
    events = raw.select(
        "date",
        "symbol",
        pl.col("split_ratio").fill_null(0.0),
        pl.col("ex_rights_code").fill_null("00"),
    )
    frame = (
        adjusted.select("date", "symbol", "adj_factor")
        .sort("symbol", "date")
        .with_columns(prev_factor=pl.col("adj_factor").shift(1).over("symbol"))
        .join(events, on=["date", "symbol"], how="left")
        .filter(pl.col("prev_factor").is_not_null() & pl.col("adj_factor").is_not_null())
    )
    expected = pl.when(pl.col("split_ratio") > 0).then(pl.col("split_ratio")).otherwise(pl.lit(1.0))
    ratio = pl.col("prev_factor") / pl.col("adj_factor")
    judged = ~(
        pl.col("ex_rights_code").is_in(BASIS_RESET_CODES) & ~(pl.col("split_ratio") > 0)
    ).fill_null(False)
    bad = judged & ((ratio / expected - 1).abs() > FACTOR_TOLERANCE)
    return frame.filter(bad).select(
        "date", "symbol", "prev_factor", "adj_factor", pl.col("split_ratio").alias("split")
    )
