"""The point-in-time universe: `listing_events` (the KSD listing schedule, one partition per
year) and `listings` (every stock known, listed or delisted, as of the run day).

- `listing_events` fetches a year of share listings for all issues in 31-day windows that halve
  where KIS's 100-row answer came back full (about 12 calls a year). Saturdays 08:00, this
  year (and last year in January, whose last weeks settle then). Real only: in `paper` it is
  skipped with its reason.
- `listings` combines the master snapshots, `stock_info` and `listing_events`
  (`ingest.listings`) and asks §10.9 about the codes no master file lists today whose
  delisting KIS has not given yet (one call each: the names that left the market since).
  Weekdays 08:45, after the morning `symbols` snapshot. The daily price assets read it for
  the universe of a past day.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from kis_pipeline.common.clock import today_kst
from kis_pipeline.defs.calendar.writing import run_metadata, skipped_in_paper, write_one
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.ingest.company import fetch_snapshots, stock_info_of
from kis_pipeline.ingest.listings import (
    combine,
    from_listing_events,
    from_snapshots,
    from_stock_info,
    previous_listings,
    unlisted_codes,
)
from kis_pipeline.kis.endpoints.listing_events import fetch_listing_events
from kis_pipeline.lib.metadata import check_metadata
from kis_pipeline.lib.partitions import years
from kis_pipeline.lib.quality import (
    check_spec,
    no_rejects_result,
    no_rejects_spec,
    unique_keys_result,
)
from kis_pipeline.lib.run_context import ONCE_IN_BACKFILL, POOL
from kis_pipeline.lib.schedules import (
    asset_job,
    today_schedule,
    year_and_january_last,
    years_schedule,
)
from kis_pipeline.warehouse import TABLES

GROUP = "universe"
EVENTS = "listing_events"
LISTINGS = "listings"


_EVENT_CHECKS = [
    check_spec(EVENTS, "unique_keys", "No share listing twice."),
    no_rejects_spec(EVENTS),
]


@dg.asset(
    name=EVENTS,
    group_name=GROUP,
    partitions_def=years,
    pool=POOL,
    kinds={"parquet"},
    metadata={"kis/source": "KSD listing schedule, ksdinfo/list-info HHKDB669107C0"},
    description=(f"{TABLES[EVENTS].description} One partition per year; about 12 calls a year."),
    check_specs=_EVENT_CHECKS,
)
def listing_events(
    # `context` stays unannotated: Dagster rejects the string annotation that
    # `from __future__ import annotations` would make of it.
    context,
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    checks = [spec.name for spec in _EVENT_CHECKS]
    paper = skipped_in_paper(context, kis.settings().env, EVENTS, "ksdinfo/list-info", checks)
    if paper is not None:
        return paper
    year = int(context.partition_key)
    end = min(dt.date(year, 12, 31), today_kst())
    with kis.client() as client:
        frame, cut = fetch_listing_events(client, dt.date(year, 1, 1), end)
    if cut:
        context.log.warning(
            f"{EVENTS}: KIS answered 100 rows for {len(cut)} single day(s) ({cut[0]}, ...); "
            "their listings beyond the first 100 are missing"
        )
    written = write_one(warehouse.warehouse(), EVENTS, str(year), frame)
    return dg.MaterializeResult(
        metadata=run_metadata(frame, written, client, cut_days=len(cut)),
        check_results=[
            unique_keys_result(EVENTS, frame),
            no_rejects_result(context, EVENTS, client),
        ],
    )


_LISTING_CHECKS = [
    check_spec(LISTINGS, "unique_keys", "No symbol twice."),
    check_spec(LISTINGS, "dated", "No delisting before its listing."),
]


@dg.asset(
    name=LISTINGS,
    group_name=GROUP,
    deps=[dg.AssetDep("symbols"), dg.AssetDep("stock_info"), dg.AssetDep(EVENTS)],
    pool=POOL,
    kinds={"parquet"},
    metadata={
        "kis/source": "symbols, stock_info, listing_events; SPEC §10.9 CTPF1002R",
        ONCE_IN_BACKFILL: "true",
    },
    description=(
        f"{TABLES[LISTINGS].description} One call (§10.9) per code no master file lists today."
    ),
    check_specs=_LISTING_CHECKS,
)
def listings(
    # `context` stays unannotated: Dagster rejects the string annotation that
    # `from __future__ import annotations` would make of it.
    context,
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    wh = warehouse.warehouse()
    as_of = today_kst()
    previous = previous_listings(wh)
    master = from_snapshots(wh)
    codes = [] if kis.settings().env == "paper" else unlisted_codes(wh, master, previous)
    stored = wh.partitions("stock_info")
    frames = [wh.read("stock_info", [stored[-1]])] if stored else []
    failures: dict[str, str] = {}
    client = None
    if codes:
        with kis.client() as client:
            described, failures = fetch_snapshots(
                client, "stock_info", stock_info_of, codes, as_of, None
            )
        frames.append(described)
    for code, reason in failures.items():
        context.log.warning(f"{LISTINGS}: KIS does not describe {code}: {reason}")
    frame = combine(
        as_of,
        master,
        from_stock_info(frames),
        from_listing_events(wh),
        previous,
    )
    written = write_one(wh, LISTINGS, as_of.isoformat(), frame)
    backwards = frame.filter(pl.col("delisted_on") <= pl.col("listed_on")).select(
        "symbol", "listed_on", "delisted_on"
    )
    gone = frame.filter(pl.col("delisted_on").is_not_null()).height
    return dg.MaterializeResult(
        metadata=run_metadata(
            frame,
            written,
            client,
            as_of=as_of.isoformat(),
            delisted=gone,
            calls_planned=len(codes),
        ),
        check_results=[
            unique_keys_result(LISTINGS, frame),
            dg.AssetCheckResult(
                check_name=f"{LISTINGS}_dated",
                passed=backwards.is_empty(),
                metadata=check_metadata(backwards),
            ),
        ],
    )


listing_events_job = asset_job(listing_events, "One year of the KSD listing schedule.")
listings_job = asset_job(listings, "The point-in-time universe as known today.")

listing_events_schedule = years_schedule(
    "listing_events_schedule",
    listing_events_job,
    cron="0 8 * * 6",
    years=year_and_january_last,
    run_key_prefix="listing_events-",
    description="Saturday mornings: this year's KSD listing schedule.",
)


listings_schedule = today_schedule(
    "listings_schedule",
    listings_job,
    cron="45 8 * * 1-5",
    description="Weekday mornings after the symbols snapshot: the point-in-time universe.",
)
