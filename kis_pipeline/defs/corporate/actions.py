"""`corporate_actions` and `adj_factors` (`ingest.corporate_actions`): rebuilt from what the
warehouse holds (the daily chart's flags, the KSD listing, bonus-issue, capital-reduction,
rights-issue, merger and dividend schedules, the raw and adjusted prices) without a call, after
the nightly families (weekdays 19:45), and once in a backfill after the prices.

`adj_factors_match_kis` compares raw × our factor with KIS's adjusted close of every stored
day and fails on a difference beyond the won of rounding: a split, bonus issue, capital
reduction or rights issue we miss or misread.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from kis_pipeline.common import krx_calendar
from kis_pipeline.common.clock import today_kst
from kis_pipeline.defs.calendar.writing import Written, run_metadata, write_one
from kis_pipeline.defs.resources import WarehouseResource
from kis_pipeline.ingest.corporate_actions import (
    combine,
    cum_rights_days,
    disagreements,
    factors,
    from_bonus_issues,
    from_capital_reductions,
    from_chart,
    from_dividends,
    from_listing_events,
    from_mergers,
    from_rights_issues,
)
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.lib.quality import check_spec, unique_keys_result
from kis_pipeline.lib.run_context import ONCE_IN_BACKFILL
from kis_pipeline.lib.schedules import today_schedule
from kis_pipeline.warehouse import Warehouse

GROUP = "corporate"
ACTIONS, FACTORS = "corporate_actions", "adj_factors"
ONCE = {ONCE_IN_BACKFILL: "true"}


def _by_year(wh: Warehouse, frame: pl.DataFrame) -> Written:
    """Replace every year of `corporate_actions` the frame or the table holds: an action
    reported late (a KSD schedule fetched later) lands, one withdrawn leaves."""
    years = {str(d.year) for d in frame["ex_date"].to_list()} | set(wh.partitions(ACTIONS))
    parts = {y: frame.filter(pl.col("ex_date").dt.year() == int(y)) for y in sorted(years)}
    return Written.of(wh.write_partitions(ACTIONS, parts) if parts else [])


def _closes(wh: Warehouse, days: list[tuple[str, dt.date]]) -> pl.DataFrame:
    """The stored raw closes of (symbol, date) `days`."""
    if not days:
        return pl.DataFrame(schema={"symbol": pl.String, "date": pl.Date, "close": pl.Int64})
    where = " OR ".join("(symbol = ? AND date = ?)" for _ in days)
    flat = [value for day in days for value in day]
    return wh.select("daily_prices", where, flat).select("symbol", "date", "close")


@dg.asset(
    name=ACTIONS,
    group_name=GROUP,
    deps=[
        dg.AssetDep(t)
        for t in (
            "daily_prices",
            "listing_events",
            "bonus_issues",
            "capital_reductions",
            "rights_issues",
            "mergers",
            "dividends",
        )
    ],
    kinds={"parquet"},
    metadata={
        "kis/source": (
            "daily_prices flags, listing_events, bonus_issues, capital_reductions, "
            "rights_issues, mergers, dividends"
        ),
        **ONCE,
    },
    description=(
        "One row per (symbol, ex_date, kind): splits, reverse splits, bonus issues, capital "
        "reductions, rights issues, mergers and cash dividends from the daily chart's flags "
        "and the KSD schedules already stored; no call."
    ),
    check_specs=[check_spec(ACTIONS, "unique_keys", "No action twice.")],
)
def corporate_actions(warehouse: WarehouseResource) -> dg.MaterializeResult:
    wh = warehouse.warehouse()
    rights = wh.read("rights_issues")
    frame = combine(
        # Only the flagged days are read: the lake prunes the rest by its column statistics.
        from_chart(wh.select("daily_prices", "split_ratio > 0")),
        from_listing_events(wh.read("listing_events")),
        from_bonus_issues(wh.read("bonus_issues")),
        from_capital_reductions(wh.read("capital_reductions")),
        from_rights_issues(rights, _closes(wh, cum_rights_days(rights))),
        from_mergers(wh.read("mergers")),
        from_dividends(wh.read("dividends"), krx_calendar.previous_trading_day),
    )
    written = _by_year(wh, frame)
    kinds = frame.group_by("kind").len().sort("kind")
    return dg.MaterializeResult(
        metadata=run_metadata(frame, written, None, **dict(kinds.iter_rows())),
        check_results=[unique_keys_result(ACTIONS, frame)],
    )


@dg.asset(
    name=FACTORS,
    group_name=GROUP,
    deps=[dg.AssetDep(t) for t in (ACTIONS, "daily_prices", "daily_prices_adjusted")],
    kinds={"parquet"},
    metadata={"kis/source": "corporate_actions, daily_prices", **ONCE},
    description=(
        "One row per (as_of, symbol, date) of a symbol with a split, bonus issue, capital "
        "reduction or rights issue: raw × "
        "factor is the price on the share basis of as_of, checked against KIS's adjusted "
        "chart; no call."
    ),
    check_specs=[
        check_spec(FACTORS, "unique_keys", "No factor twice."),
        check_spec(
            FACTORS,
            "match_kis",
            "Raw close × factor is KIS's adjusted close, to the won, on every stored day.",
        ),
    ],
)
def adj_factors(warehouse: WarehouseResource) -> dg.MaterializeResult:
    wh = warehouse.warehouse()
    as_of = today_kst()
    actions = wh.read(ACTIONS)
    # The symbols whose share count changed, and those KIS adjusts although we know of no change.
    adjusted = wh.select("daily_prices_adjusted", "abs(adj_factor - 1) > 1e-9")
    split = set(actions.filter(pl.col("ratio").is_not_null())["symbol"].to_list())
    names = sorted(split | set(adjusted["symbol"].to_list()))
    where = f"symbol IN ({', '.join('?' * len(names))})" if names else "false"
    raw = wh.select("daily_prices", where, names)
    frame = factors(raw.select("date", "symbol"), actions, as_of)
    written = write_one(wh, FACTORS, as_of.isoformat(), frame)
    missed = disagreements(raw, wh.select("daily_prices_adjusted", where, names), frame)
    return dg.MaterializeResult(
        metadata=run_metadata(frame, written, None, as_of=as_of.isoformat()),
        check_results=[
            unique_keys_result(FACTORS, frame),
            dg.AssetCheckResult(
                check_name=f"{FACTORS}_match_kis",
                passed=missed.is_empty(),
                metadata=check_metadata(missed),
            ),
        ],
    )


corporate_job = dg.define_asset_job(
    "corporate_actions_job",
    selection=dg.AssetSelection.assets(corporate_actions, adj_factors),
    description="Corporate actions and adjustment factors, from the warehouse.",
)
corporate_schedule = today_schedule(
    "corporate_actions_schedule",
    corporate_job,
    cron="45 19 * * 1-5",
    description="After the nightly families: corporate actions and adjustment factors.",
)
