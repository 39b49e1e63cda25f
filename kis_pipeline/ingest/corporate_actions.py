"""`corporate_actions` and `adj_factors`, built from what the warehouse already holds: no call.

Corporate actions come from two reporters, each for what it knows:

- the daily chart's event flags, stored in `daily_prices` (SPEC §7.3): a day whose
  `split_ratio` (the new base price over the old close) is set is a split below 1 and a
  reverse split above it, `ratio` = 1 / split_ratio new shares per old share;
- the KSD schedules: the new shares of a split in the listing schedule (`listing_events`,
  `액면분할`; ratio = total shares over the shares before), every bonus issue of the bonus-issue
  schedule (`bonus_issues`; ratio 1 + fix_rate / 100, ex-rights on its `right_dt`), every
  capital reduction of the capital-reduction schedule (`capital_reductions`; ratio the shares
  kept per old share, ex on the relisting day `list_dt`), every rights issue of the
  rights-issue schedule (`rights_issues`; ratio 1 + fix_rate / 100, the issue price, ex-rights
  on its `right_dt`), every merger of the merger schedule (`mergers`; ratio the surviving
  company's shares per absorbed share, on the listing day of the new shares, the absorbed
  company as `counterparty`), and every cash dividend of the dividend schedule (`dividends`),
  ex-dividend the session before its record date.

A split both report is one row, `source` `chart,ksd`, with the KSD's exact share counts. The
chart flags a bonus issue's ex-rights day as it flags a split (락구분 01 and the base price's
rate) and cannot tell them apart: a flag on the day the KSD reports a bonus issue is that bonus
issue, one row with the KSD's exact rate. A capital reduction relists on its `list_dt` with
the base price reset as for a reverse split (the chart's rate, with revaluation reason 02): a
flag that day is that reduction, one row with the KSD's ratio. A rights issue's ex-rights day
is flagged like a bonus issue's, with the rate of the theoretical ex-rights price (TERP) to the
cum-rights close; the KSD's issue price gives that rate exactly: TERP = (close + price × r) /
(1 + r) for r new shares per old, `price_factor` = TERP / close, from the stored close of the
session before the ex date (the chart's rounded rate when that close is not stored). A merger
into a listed name leaves its price basis alone (the chart flags nothing): it is a row, not a
factor.

`adj_factors` puts a raw price of a day on the share basis of `as_of`: the product over the
splits, bonus issues, capital reductions (1 / ratio each) and rights issues (`price_factor`)
after that day and by `as_of`. The
adjusted series is raw × factor, which the check compares with KIS's own adjusted chart
(`daily_prices_adjusted`). Each run stores its factors under its own `as_of`, so the factors
of any earlier day stay readable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl

from kis_pipeline.common import krx_calendar
from kis_pipeline.warehouse import TABLES

ACTIONS = TABLES["corporate_actions"].schema
FACTORS = TABLES["adj_factors"].schema
SPLIT, REVERSE_SPLIT, CASH_DIVIDEND = "split", "reverse_split", "cash_dividend"
BONUS_ISSUE, CAPITAL_REDUCTION = "bonus_issue", "capital_reduction"
RIGHTS_ISSUE, MERGER = "rights_issue", "merger"
# The kinds that move the price basis by 1 / ratio.
SHARE_COUNT_KINDS = (SPLIT, REVERSE_SPLIT, BONUS_ISSUE, CAPITAL_REDUCTION)
# The kinds only a KSD schedule names: the chart flags their day as a split or reverse split.
KSD_NAMED_KINDS = (BONUS_ISSUE, CAPITAL_REDUCTION, RIGHTS_ISSUE)
# The kinds that move the price basis: those of the share count, and rights issues by their
# `price_factor`.
BASIS_KINDS = (*SHARE_COUNT_KINDS, RIGHTS_ISSUE)
KSD = "ksd"
SPLIT_REASONS = ("액면분할",)
# A whole-won adjusted price rounds raw × factor: one won either way is rounding, not a miss.
ROUNDING_WON = 1


def from_chart(prices: pl.DataFrame) -> pl.DataFrame:
    """Splits and reverse splits the daily chart flagged (`daily_prices` rows)."""
    flagged = prices.filter(pl.col("split_ratio").fill_null(0.0) > 0)
    return _actions(
        flagged.select(
            "symbol",
            pl.col("date").alias("ex_date"),
            pl.when(pl.col("split_ratio") < 1)
            .then(pl.lit(SPLIT))
            .otherwise(pl.lit(REVERSE_SPLIT))
            .alias("kind"),
            (1.0 / pl.col("split_ratio")).round(6).alias("ratio"),
            # Kept for a rights issue whose cum-rights close is not stored (see `combine`).
            pl.col("split_ratio").alias("price_factor"),
            pl.lit("chart").alias("source"),
        )
    )


def from_listing_events(events: pl.DataFrame) -> pl.DataFrame:
    """Splits in the KSD listing schedule: the new shares and the total after them."""
    splits = events.filter(
        pl.col("reason").is_in(SPLIT_REASONS) & (pl.col("total_shares") > pl.col("shares"))
    )
    return _actions(
        splits.select(
            "symbol",
            pl.col("date").alias("ex_date"),
            pl.lit(SPLIT).alias("kind"),
            (pl.col("total_shares") / (pl.col("total_shares") - pl.col("shares")))
            .round(6)
            .alias("ratio"),
            pl.lit(KSD).alias("source"),
        )
    )


def from_bonus_issues(issues: pl.DataFrame) -> pl.DataFrame:
    """Bonus issues of the KSD schedule (`bonus_issues` rows), ex on their `right_dt`; a
    symbol's share classes are one row (the common share's rate first)."""
    first = _common_first(issues, "ex_date")
    return _actions(
        first.select(
            "symbol",
            "ex_date",
            pl.lit(BONUS_ISSUE).alias("kind"),
            (1.0 + pl.col("fix_rate") / 100.0).round(6).alias("ratio"),
            "record_date",
            pl.lit(KSD).alias("source"),
        )
    )


def _common_first(schedule: pl.DataFrame, day: str) -> pl.DataFrame:
    """One row per (symbol, `day`) of a KSD schedule: the common share's when there is one,
    since the price series is the common share's."""
    ordered = schedule.sort(pl.col("share_class") != "common")
    return ordered.group_by("symbol", day, maintain_order=True).first()


def from_capital_reductions(reductions: pl.DataFrame) -> pl.DataFrame:
    """Capital reductions of the KSD schedule (`capital_reductions` rows), ex on the relisting
    day (the first session at the new basis); a symbol's share classes are one row (the common
    share's ratio first)."""
    first = _common_first(reductions, "list_date")
    return _actions(
        first.select(
            "symbol",
            pl.col("list_date").alias("ex_date"),
            pl.lit(CAPITAL_REDUCTION).alias("kind"),
            pl.col("kept_ratio").round(6).alias("ratio"),
            "record_date",
            pl.lit(KSD).alias("source"),
        )
    )


def from_rights_issues(issues: pl.DataFrame, closes: pl.DataFrame) -> pl.DataFrame:
    """Rights issues of the KSD schedule (`rights_issues` rows), ex on their `right_dt`; a
    symbol's share classes are one row (the common share's first). `closes` (symbol, date,
    close) holds the cum-rights closes, the sessions before the ex dates: with one the
    `price_factor` is TERP / close, without it null (the chart's rate is used)."""
    first = _common_first(issues, "ex_date")
    rate = pl.col("fix_rate") / 100.0
    cum = closes.select("symbol", pl.col("date").alias("_cum_date"), pl.col("close"))
    terp = (pl.col("close") + pl.col("issue_price") * rate) / (1.0 + rate)
    return _actions(
        first.with_columns(
            _cum_date=pl.col("ex_date").map_elements(
                krx_calendar.previous_trading_day, return_dtype=pl.Date
            )
        )
        .join(cum, on=["symbol", "_cum_date"], how="left")
        .select(
            "symbol",
            "ex_date",
            pl.lit(RIGHTS_ISSUE).alias("kind"),
            (1.0 + rate).round(6).alias("ratio"),
            "record_date",
            "issue_price",
            (terp / pl.col("close")).alias("price_factor"),
            pl.lit(KSD).alias("source"),
        )
    )


def cum_rights_days(issues: pl.DataFrame) -> list[tuple[str, dt.date]]:
    """(symbol, session before the ex date) of each rights issue: the closes TERP needs."""
    return sorted(
        {
            (symbol, krx_calendar.previous_trading_day(ex))
            for symbol, ex in issues.select("symbol", "ex_date").iter_rows()
        }
    )


def from_mergers(mergers: pl.DataFrame) -> pl.DataFrame:
    """Mergers of the KSD schedule (`mergers` rows) on the listing day of the new shares (the
    record date when none is given yet), the absorbed company as `counterparty`."""
    return _actions(
        mergers.sort("seq").select(
            "symbol",
            pl.coalesce("list_date", "record_date").alias("ex_date"),
            pl.lit(MERGER).alias("kind"),
            pl.col("ratio").round(6),
            "record_date",
            pl.col("absorbed_code").alias("counterparty"),
            pl.lit(KSD).alias("source"),
        )
    ).unique(subset=["symbol", "ex_date"], keep="first", maintain_order=True)


def from_dividends(
    dividends: pl.DataFrame, session_before: Callable[[dt.date], dt.date]
) -> pl.DataFrame:
    """Cash dividends of the KSD schedule, by ex-date (the session before the record date);
    a symbol's share classes are one row (the common share's amount first)."""
    cash = dividends.filter(pl.col("dividend_per_share").fill_null(0) > 0).sort(
        pl.col("share_class") != "common"
    )
    cash = cash.group_by("symbol", "record_date", maintain_order=True).first()
    return _actions(
        cash.select(
            "symbol",
            pl.col("record_date")
            .map_elements(session_before, return_dtype=pl.Date)
            .alias("ex_date"),
            pl.lit(CASH_DIVIDEND).alias("kind"),
            pl.col("dividend_per_share").alias("cash_per_share"),
            "record_date",
            pl.lit(KSD).alias("source"),
        )
    )


def _actions(frame: pl.DataFrame) -> pl.DataFrame:
    missing = [pl.lit(None, dtype=t).alias(c) for c, t in ACTIONS.items() if c not in frame]
    return frame.with_columns(missing).select(list(ACTIONS)).cast(dict(ACTIONS))


def combine(*reported: pl.DataFrame) -> pl.DataFrame:
    """One row per (symbol, ex_date, kind): the KSD's figures first, every reporter named."""
    merged = _as_ksd_kinds(pl.concat([_actions(f) for f in reported], how="vertical"))
    merged = merged.with_columns(_rank=(pl.col("source") != KSD).cast(pl.Int8))
    out = (
        merged.sort("symbol", "ex_date", "kind", "_rank", maintain_order=True)
        .group_by("symbol", "ex_date", "kind", maintain_order=True)
        .agg(
            pl.col("ratio").drop_nulls().first(),
            pl.col("cash_per_share").drop_nulls().first(),
            pl.col("record_date").drop_nulls().first(),
            pl.col("source").unique().sort().str.join(","),
            pl.col("issue_price").drop_nulls().first(),
            # The KSD's exact factor first, the chart's rounded rate when it could not be had.
            pl.col("price_factor").drop_nulls().first(),
            pl.col("counterparty").drop_nulls().first(),
        )
        .with_columns(
            price_factor=pl.when(pl.col("kind") == RIGHTS_ISSUE).then(pl.col("price_factor"))
        )
    )
    return out.select(list(ACTIONS)).cast(dict(ACTIONS)).sort("symbol", "ex_date")


def _as_ksd_kinds(actions: pl.DataFrame) -> pl.DataFrame:
    """The chart's split flags on a day the KSD reports a bonus issue or capital reduction of
    the symbol, read as that action: the chart's base-price rate is the same for a bonus issue
    and a split, and for a capital reduction and a reverse split."""
    named = (
        actions.filter(pl.col("kind").is_in(KSD_NAMED_KINDS))
        .select("symbol", "ex_date", pl.col("kind").alias("_ksd_kind"))
        .unique(subset=["symbol", "ex_date"], keep="first", maintain_order=True)
    )
    flagged = pl.col("_ksd_kind").is_not_null() & pl.col("kind").is_in(SHARE_COUNT_KINDS)
    return (
        actions.join(named, on=["symbol", "ex_date"], how="left")
        .with_columns(kind=pl.when(flagged).then(pl.col("_ksd_kind")).otherwise(pl.col("kind")))
        .drop("_ksd_kind")
    )


def factors(days: pl.DataFrame, actions: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """`adj_factors` rows of `as_of` for (date, symbol) `days` of the symbols with a split, a
    bonus issue, a capital reduction or a rights issue."""
    splits = actions.filter(
        pl.col("kind").is_in(BASIS_KINDS) & (pl.col("ex_date") <= as_of)
    ).select(
        "symbol",
        "ex_date",
        pl.when(pl.col("kind") == RIGHTS_ISSUE)
        .then(pl.col("price_factor"))
        .otherwise(1.0 / pl.col("ratio"))
        .alias("price_factor"),
    )
    wanted = days.filter(pl.col("symbol").is_in(splits["symbol"].unique().to_list()))
    if wanted.is_empty():
        return pl.DataFrame(schema=FACTORS)
    per_day = (
        wanted.select("date", "symbol")
        .join(splits, on="symbol", how="left")
        .with_columns(
            step=pl.when(pl.col("ex_date") > pl.col("date"))
            .then(pl.col("price_factor").fill_null(1.0))
            .otherwise(1.0)
        )
        .group_by("symbol", "date")
        .agg(pl.col("step").product().alias("factor"))
    )
    return (
        per_day.with_columns(as_of=pl.lit(as_of, dtype=pl.Date))
        .select(list(FACTORS))
        .cast(dict(FACTORS))
        .sort("symbol", "date")
    )


def disagreements(
    raw: pl.DataFrame, adjusted: pl.DataFrame, factor_rows: pl.DataFrame
) -> pl.DataFrame:
    """(date, symbol) where raw close × our factor (1 without a row) is not KIS's adjusted
    close to the won: a share-count change we miss or misread, or KIS's adjustment of
    something else."""
    joined = (
        adjusted.select("date", "symbol", pl.col("close").alias("kis_adjusted"))
        .join(raw.select("date", "symbol", "close"), on=["date", "symbol"])
        .join(factor_rows.select("date", "symbol", "factor"), on=["date", "symbol"], how="left")
        .with_columns(
            ours=(pl.col("close") * pl.col("factor").fill_null(1.0)).round(0).cast(pl.Int64)
        )
    )
    return joined.filter((pl.col("ours") - pl.col("kis_adjusted")).abs() > ROUNDING_WON).select(
        "date", "symbol", "close", "factor", "ours", "kis_adjusted"
    )
