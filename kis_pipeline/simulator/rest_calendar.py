"""The domestic holiday calendar, chk-holiday (SPEC §11.1, CTCA0903R), and the overseas
settlement-date calendar, countries-holiday (SPEC §13.8, CTOS5011R).

One call answers 24 consecutive calendar days from `BASS_DT` (the portal example's span),
`output` as a list although the portal table says object. Continuation as in the official
sample: the body carries `ctx_area_fk` (the page's first day) and `ctx_area_nk` (its last
day), space-padded to 20 characters; the `tr_cont` response header is "M" while the calendar
goes on, "D" on the last page. A call with request header `tr_cont: N` and `CTX_AREA_NK` set
continues the day after it. The calendar is known through the end of next year; a page
starting beyond that is empty (KIOK0560). `tr_day_yn` is "Y" every day, weekends included,
as in the portal example.
"""

from __future__ import annotations

import datetime as dt

from kis_pipeline.common.overseas_exchanges import EXCHANGES
from kis_pipeline.simulator.overseas_holidays import is_open
from kis_pipeline.simulator.rest_common import (
    Endpoint,
    Params,
    Reply,
    ok,
    parse_date,
    ymd,
    yn,
)
from kis_pipeline.simulator.rest_market import MarketView

PAGE_DAYS = 24
CTX_WIDTH = 20
MORE = ("KIOK0500", "조회가 계속됩니다..다음버튼을 Click 하십시오.".ljust(80))
LAST = ("KIOK0460", "조회 되었습니다. (마지막 자료)".ljust(80))
EMPTY = ("KIOK0560", "조회할 내용이 없습니다".ljust(80))


def _weekday_code(day: dt.date) -> str:
    """wday_dvsn_cd: 01 Sunday ... 07 Saturday."""
    return f"{(day.isoweekday() % 7) + 1:02d}"


def chk_holiday(view: MarketView, params: Params, tr_cont: str) -> Reply:
    start = params.date("BASS_DT", max_len=8)
    next_key = params.require("CTX_AREA_NK", CTX_WIDTH)
    params.require("CTX_AREA_FK", CTX_WIDTH)
    if tr_cont == "N" and next_key:
        start = parse_date(next_key, "CTX_AREA_NK") + dt.timedelta(days=1)
    horizon = dt.date(view.market.today().year + 1, 12, 31)
    if start > horizon:
        body = ok(msg=EMPTY, ctx_area_nk="", ctx_area_fk="", output=[])
        return Reply(body, tr_cont="D")
    last = min(start + dt.timedelta(days=PAGE_DAYS - 1), horizon)
    market = view.market
    rows = []
    day = start
    while day <= last:
        rows.append(
            {
                "bass_dt": ymd(day),
                "wday_dvsn_cd": _weekday_code(day),
                "bzdy_yn": yn(market.is_business_day(day)),
                "tr_day_yn": "Y",
                "opnd_yn": yn(market.is_trading_day(day)),
                "sttl_day_yn": yn(market.is_settlement_day(day)),
            }
        )
        day += dt.timedelta(days=1)
    more = last < horizon
    body = ok(
        msg=MORE if more else LAST,
        ctx_area_nk=ymd(last).ljust(CTX_WIDTH),
        ctx_area_fk=ymd(start).ljust(CTX_WIDTH),
        output=rows,
    )
    return Reply(body, tr_cont="M" if more else "D")


# ---- §13.8 countries-holiday -----------------------------------------------------------------

NATION_CODES = {"US": "840", "JP": "392", "HK": "344", "VN": "704", "CN": "156"}
SETTLEMENT_LAG = 2  # sessions after the trade, on the market's own calendar


def _sessions_after(country: str, day: dt.date, count: int) -> dt.date:
    while count:
        day += dt.timedelta(days=1)
        count -= is_open(country, day)
    return day


def countries_holiday(view: MarketView, params: Params, tr_cont: str) -> Reply:
    """One row per market that trades on `TRAD_DT` with its settlement dates; a market closed
    that day is absent (a weekend answers no rows). Dates past next year are unknown
    (KIOK0560)."""
    day = params.date("TRAD_DT", max_len=8)
    params.require("CTX_AREA_NK", CTX_WIDTH)
    params.require("CTX_AREA_FK", CTX_WIDTH)
    if day > dt.date(view.market.today().year + 1, 12, 31):
        return Reply(ok(msg=EMPTY, ctx_area_nk="", ctx_area_fk="", output=[]), tr_cont="D")
    markets = {e.product_type: e for e in reversed(EXCHANGES.values())}
    rows = []
    for product_type, exchange in sorted(markets.items()):
        if not is_open(exchange.country, day):
            continue
        local = _sessions_after(exchange.country, day, SETTLEMENT_LAG)
        domestic = local + dt.timedelta(days=1 if local.weekday() < 4 else 7 - local.weekday())
        rows.append(
            {
                "prdt_type_cd": product_type,
                "tr_natn_cd": NATION_CODES[exchange.country],
                "tr_natn_name": exchange.country,
                "natn_eng_abrv_cd": exchange.country,
                "tr_mket_cd": product_type[-2:],
                "tr_mket_name": exchange.name,
                "acpl_sttl_dt": ymd(local),
                "dmst_sttl_dt": ymd(domestic),
            }
        )
    body = ok(
        msg=LAST, ctx_area_nk="".ljust(CTX_WIDTH), ctx_area_fk="".ljust(CTX_WIDTH), output=rows
    )
    return Reply(body, tr_cont="D")


ENDPOINTS = (
    Endpoint("/uapi/domestic-stock/v1/quotations/chk-holiday", "CTCA0903R", chk_holiday),
    Endpoint(
        "/uapi/overseas-stock/v1/quotations/countries-holiday", "CTOS5011R", countries_holiday
    ),
)
