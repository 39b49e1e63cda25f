"""`news_titles`: every news and disclosure headline KIS lists (SPEC §17.2), fetched hourly on
weekdays from 08:05 to 18:05 back to the newest one already stored (the start of the day on a
first run), and added to the partition of the day it was written. A headline stored before is
kept once (by KIS's serial, `news_id`); its newest listing wins.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from kis_pipeline.common.clock import KST, KST_NAME, now_kst
from kis_pipeline.defs.calendar.writing import Written, run_metadata
from kis_pipeline.defs.resources import KisResource, WarehouseResource
from kis_pipeline.kis.endpoints.news import NEWS, fetch_news
from kis_pipeline.lib.quality import (
    check_spec,
    no_rejects_result,
    no_rejects_spec,
    unique_keys_result,
)
from kis_pipeline.lib.schedules import asset_job
from kis_pipeline.lib.table_asset import table_asset
from kis_pipeline.warehouse import Warehouse

TABLE = "news_titles"
CHECKS = [check_spec(TABLE, "unique_keys", "No headline twice."), no_rejects_spec(TABLE)]


def newest_stored(wh: Warehouse) -> dt.datetime | None:
    """When the newest stored headline was written."""
    for partition in reversed(wh.partitions(TABLE)):
        frame = wh.read(TABLE, [partition])
        if not frame.is_empty():
            newest = frame["ts"].max()
            return newest.astimezone(KST) if isinstance(newest, dt.datetime) else None
    return None


def merge(wh: Warehouse, fetched: pl.DataFrame) -> Written:
    """Add `fetched` to the partitions of its days, each headline once (the new listing wins)."""
    stored = set(wh.partitions(TABLE))
    frames = {}
    for (day,), part in fetched.partition_by("date", as_dict=True).items():
        key = day.isoformat()
        before = wh.read(TABLE, [key]) if key in stored else part.clear()
        merged = pl.concat([part, before], how="vertical").unique("news_id", keep="first")
        frames[key] = merged.sort("ts", "news_id")
    return Written.of(wh.write_partitions(TABLE, frames) if frames else [])


@table_asset(
    TABLE,
    group="news",
    description=(
        "One row per news_id: news and disclosure headlines as KIS lists them, kept hour by "
        "hour from the first run on (KIS shows only the newest)."
    ),
    checks=CHECKS,
    source=f"SPEC §17.2 {NEWS.tr_id}",
    calls="a few an hour",
    real_only=NEWS.name,
)
def news_titles(
    context,  # unannotated: Dagster rejects the string annotation of `from __future__`
    kis: KisResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    wh = warehouse.warehouse()
    now = now_kst()
    since = newest_stored(wh) or dt.datetime.combine(now.date(), dt.time(), tzinfo=KST)
    with kis.client() as client:
        frame = fetch_news(client, since)
    written = merge(wh, frame)
    return dg.MaterializeResult(
        metadata=run_metadata(frame, written, client, since=since.isoformat()),
        check_results=[unique_keys_result(TABLE, frame), no_rejects_result(context, TABLE, client)],
    )


news_titles_job = asset_job(news_titles, "The headlines KIS listed since the last run.")


@dg.schedule(
    name="news_titles_schedule",
    job=news_titles_job,
    cron_schedule="5 8-18 * * 1-5",
    execution_timezone=KST_NAME,
    description="Hourly on weekdays, 08:05 to 18:05: the headlines since the last run.",
)
def news_titles_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    when = context.scheduled_execution_time
    stamp = when.astimezone(KST).strftime("%Y-%m-%dT%H%M") if when else "now"
    return dg.RunRequest(run_key=f"news_titles-{stamp}")
