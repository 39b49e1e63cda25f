"""News and disclosure titles (`news-title`, FHKST01011800, SPEC §17.2; fields and parameters
from the official samples, `docs/news_titles.md`).

A call answers the headlines written at or before `FID_INPUT_DATE_1` + `FID_INPUT_HOUR_1`
(blank: now), newest first. SPEC states no cap per call, so the walk asks again from the oldest
headline it got until it reaches the point it was asked to stop at, or a call brings nothing
new; a headline asked for twice is kept once (`news_id` is KIS's serial).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.common.news_schemas import NEWS_RECORDS, NEWS_TITLES
from kis_pipeline.kis.endpoints._trend import quotation
from kis_pipeline.kis.parse import kst_timestamp
from kis_pipeline.kis.records import RecordSpec, field_map

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

NEWS_ROWS = RecordSpec(
    table="news_titles",
    schema=NEWS_RECORDS,
    fields=field_map(
        """
        cntt_usiq_srno       news_id
        data_dt              date
        data_tm              time
        news_ofer_entp_code  provider
        hts_pbnt_titl_cntt   title
        news_lrdv_code       category
        dorg                 source
        iscd1                symbol_1
        iscd2                symbol_2
        iscd3                symbol_3
        iscd4                symbol_4
        iscd5                symbol_5
        """
    ),
    required=("news_id", "date", "time", "title"),
    patterns={"time": r"^([01]\d|2[0-3])[0-5]\d[0-5]\d$"},
    symbol="symbol_1",
)
NEWS = quotation("§17.2", "news-title", "FHKST01011800", NEWS_ROWS, "output")
# A day holds a few hundred headlines: more calls than this means the answers do not move.
MAX_CALLS = 200


def _params(moment: dt.datetime | None) -> dict[str, str]:
    blank = ("FID_NEWS_OFER_ENTP_CODE", "FID_COND_MRKT_CLS_CODE", "FID_INPUT_ISCD", "FID_TITL_CNTT")
    params = dict.fromkeys((*blank, "FID_RANK_SORT_CLS_CODE", "FID_INPUT_SRNO"), "")
    params["FID_INPUT_DATE_1"] = f"00{moment:%Y%m%d}" if moment else ""
    params["FID_INPUT_HOUR_1"] = f"0000{moment:%H%M%S}" if moment else ""
    return params


def as_rows(records: pl.DataFrame) -> pl.DataFrame:
    """Parsed records as `news_titles` rows, the time made a KST timestamp."""
    return records.with_columns(kst_timestamp().alias("ts")).select(NEWS_TITLES.names())


def fetch_news(client: KisClient, since: dt.datetime) -> pl.DataFrame:
    """Every headline written from `since` (KST) until now, oldest first, each once."""
    frames: list[pl.DataFrame] = []
    seen: set[str] = set()
    moment: dt.datetime | None = None
    for _ in range(MAX_CALLS):
        page = as_rows(NEWS.fetch(client, _params(moment)).frame)
        fresh = page.filter(~pl.col("news_id").is_in(list(seen)))
        if fresh.is_empty():
            break
        seen.update(fresh["news_id"].to_list())
        frames.append(fresh.filter(pl.col("ts") >= since))
        oldest = fresh["ts"].min()
        if oldest is None or oldest < since:  # type: ignore[operator]
            break
        moment = oldest  # type: ignore[assignment]
    frame = pl.concat([pl.DataFrame(schema=NEWS_TITLES), *frames], how="vertical")
    return frame.unique("news_id", keep="first").sort("ts", "news_id")
