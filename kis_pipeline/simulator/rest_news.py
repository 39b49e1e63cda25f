"""News and disclosure titles (`news-title`, FHKST01011800, SPEC §17.2; fields from the official
samples, `docs/news_titles.md`): the headlines written at or before `FID_INPUT_DATE_1` +
`FID_INPUT_HOUR_1` (blank: now), newest first, at most `NEWS_ROWS` a call, reaching back into
earlier days; `FID_INPUT_ISCD` narrows them to one stock's. The caller asks again from the
oldest one it got. Dates come as `00YYYYMMDD` and times as `0000HHMMSS`, as the samples send
them; plain `YYYYMMDD` and `HHMMSS` are accepted too.
"""

from __future__ import annotations

import datetime as dt

from kis_pipeline.simulator.market_news import Headline, headlines
from kis_pipeline.simulator.rest_common import Endpoint, Params, Reply, invalid_param, ok, ymd
from kis_pipeline.simulator.rest_market import MarketView
from kis_pipeline.simulator.session_clock import hhmmss

NEWS_ROWS = 40
# How many days back one answer may reach to fill its rows.
LOOKBACK_DAYS = 7


def _moment(params: Params, now: dt.datetime) -> tuple[dt.date, int]:
    day_text = params.require("FID_INPUT_DATE_1", 10)
    hour_text = params.require("FID_INPUT_HOUR_1", 10)
    day = now.date() if not day_text else params.date("FID_INPUT_DATE_1")
    if not hour_text:
        second = now.hour * 3600 + now.minute * 60 + now.second if day == now.date() else 86399
    else:
        text = hour_text[-6:]
        if not text.isdigit() or len(text) != 6:
            raise invalid_param("FID_INPUT_HOUR_1")
        second = int(text[:2]) * 3600 + int(text[2:4]) * 60 + int(text[4:])
    return day, second


def day_headlines(view: MarketView, day: dt.date) -> list[Headline]:
    """The headlines of `day` up to now (all of them once it is over), oldest first."""
    market = view.market
    now = market.now()
    if day > now.date():
        return []
    found = view.memo(
        ("news", day), lambda: headlines(market.config.seed, day, list(market.listings))
    )
    if day == now.date():
        second = now.hour * 3600 + now.minute * 60 + now.second
        return [h for h in found if h.second <= second]
    return found


def news_title(view: MarketView, params: Params, tr_cont: str) -> Reply:
    for name in ("FID_NEWS_OFER_ENTP_CODE", "FID_COND_MRKT_CLS_CODE", "FID_TITL_CNTT"):
        params.require(name, 40)
    params.require("FID_RANK_SORT_CLS_CODE", 2)
    params.require("FID_INPUT_SRNO", 20)
    symbol = params.require("FID_INPUT_ISCD", 12)
    day, second = _moment(params, view.market.now())
    rows: list[dict[str, str]] = []
    for back in range(LOOKBACK_DAYS):
        current = day - dt.timedelta(days=back)
        found = [
            h
            for h in reversed(day_headlines(view, current))
            if (back or h.second <= second) and (not symbol or symbol in h.symbols)
        ]
        rows += [_row(h) for h in found[: NEWS_ROWS - len(rows)]]
        if len(rows) >= NEWS_ROWS:
            break
    return Reply(ok(output=rows))


def _row(h: Headline) -> dict[str, str]:
    codes = [*h.symbols, "", "", "", "", ""][:5]
    return {
        "cntt_usiq_srno": h.serial,
        "news_ofer_entp_code": h.provider,
        "data_dt": ymd(h.day),
        "data_tm": hhmmss(h.second),
        "hts_pbnt_titl_cntt": h.title,
        "news_lrdv_code": h.category,
        "dorg": h.source,
        **{f"iscd{i}": code for i, code in enumerate(codes, start=1)},
    }


ENDPOINTS = (
    Endpoint("/uapi/domestic-stock/v1/quotations/news-title", "FHKST01011800", news_title),
)
