"""A stock's one-minute bars: today's (SPEC §7.5, FHKST03010200, 30 bars a call) and any day's
of the last year (§7.6, FHKST03010230, 120 bars a call); an index's bars (§12.5,
FHKUP03500200); an overseas stock's (§13.5, HHDFS76950200, 120 a call, the last month, paged
with `NEXT`/`KEYB`). The bars are `market_minutes`'s, so they add up to the day's chart bar.

§12.5 takes the bar size in seconds (`FID_INPUT_HOUR_1`: 30 or 60 one minute, 600 ten, 3600 an
hour) and answers the newest 102 bars of the last completed session (the simulator does not
play an index's session in progress), newest first, with no way to ask for older ones; "Y" in
`FID_PW_DATA_INCU_YN` fills the 102 from earlier sessions. Its volumes are thousands of shares
and its values KRW millions, as in the index's daily chart.

Both answer the bars that start at or before `FID_INPUT_HOUR_1`, newest first, and do not page
with tr_cont: the caller asks again from a minute before the oldest bar it got. §7.6 with
`FID_PW_DATA_INCU_YN` "Y" goes on into earlier sessions to fill its 120; "N" keeps to the day.
A day older than KIS keeps (`MINUTE_HISTORY`), a closed day or a future one answers rt_cd "0"
with no bars. A session in progress has the bars up to the current minute. Only the KRX
market division (`J`) is modelled; `NX` and `UN` are refused like an unknown code.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kis_pipeline.common.clock import KST
from kis_pipeline.common.overseas_exchanges import EXCHANGES
from kis_pipeline.simulator.market_minutes import (
    IndexMinute,
    MinuteBar,
    OverseasMinute,
    at_or_before,
    index_minute_bars,
    minute_bars,
    overseas_minute_bars,
)
from kis_pipeline.simulator.rest_common import (
    Endpoint,
    Params,
    Reply,
    dec,
    invalid_param,
    num,
    ok,
    unknown_symbol,
    ymd,
)
from kis_pipeline.simulator.rest_market import MarketView
from kis_pipeline.simulator.rest_quotes import change_fields
from kis_pipeline.simulator.session_clock import hhmmss

QUOTATIONS = "/uapi/domestic-stock/v1/quotations"
TODAY_ROWS = 30
HISTORY_ROWS = 120
MINUTE_HISTORY = dt.timedelta(days=365)
# How many earlier sessions "include past data" may reach into for one answer.
_PAST_SESSIONS = 3


def _hour(params: Params) -> int:
    text = params.require("FID_INPUT_HOUR_1", 10)
    if len(text) != 6 or not text.isdigit():
        raise invalid_param("FID_INPUT_HOUR_1")
    hh, mm, ss = int(text[:2]), int(text[2:4]), int(text[4:])
    if hh > 23 or mm > 59 or ss > 59:
        raise invalid_param("FID_INPUT_HOUR_1")
    return hh * 3600 + mm * 60 + ss


def _day_bars(view: MarketView, symbol: str, day: dt.date) -> list[MinuteBar]:
    """The bars of `day` so far (all of them once it completed); none on a closed day."""
    market = view.market
    now = market.now()
    if not market.is_trading_day(day) or day > now.date():
        return []
    if day < now.date() - MINUTE_HISTORY:
        return []
    bar = market.session_bar(symbol, day)
    if bar is None or bar.volume <= 0:
        return []
    bars = view.memo(("minutes", symbol, day), lambda: minute_bars(market.config.seed, symbol, bar))
    if day == now.date() and day > market.last_completed_session(now):
        second = now.hour * 3600 + now.minute * 60 + now.second
        return bars[: at_or_before(bars, second)]
    return bars


def _rows(day: dt.date, bars: list[MinuteBar] | list[IndexMinute]) -> list[dict[str, str]]:
    """Bars newest first, as KIS writes them; `acml_tr_pbmn` runs from the day's open, so
    `bars` must start there. An index's levels carry two decimals, its volumes are thousands
    of shares and its values KRW millions."""
    index = bool(bars) and isinstance(bars[0], IndexMinute)
    price, prefix = (dec, "bstp_nmix_") if index else (num, "stck_")
    shares, krw = (1000, 1_000_000) if index else (1, 1)
    rows = []
    cumulative = 0
    for b in bars:
        cumulative += b.value
        rows.append(
            {
                "stck_bsop_date": ymd(day),
                "stck_cntg_hour": hhmmss(b.second),
                f"{prefix}prpr": price(b.close),
                f"{prefix}oprc": price(b.open),
                f"{prefix}hgpr": price(b.high),
                f"{prefix}lwpr": price(b.low),
                "cntg_vol": num(b.volume // shares),
                "acml_tr_pbmn": num(cumulative // krw),
            }
        )
    return rows[::-1]


def _summary(view: MarketView, symbol: str, day: dt.date, bars: list[MinuteBar]) -> dict[str, str]:
    listing = view.listing(symbol)
    bar = view.market.session_bar(symbol, day)
    base = int(bar.prev_close) if bar is not None else 0
    price = bars[-1].close if bars else base
    change, change_sign, change_rate = change_fields(price, base) if base else ("0", "3", "0.00")
    return {
        "prdy_vrss": change,
        "prdy_vrss_sign": change_sign,
        "prdy_ctrt": change_rate,
        "stck_prdy_clpr": num(base),
        "acml_vol": num(sum(b.volume for b in bars)),
        "acml_tr_pbmn": num(sum(b.value for b in bars)),
        "hts_kor_isnm": listing.name,
        "stck_prpr": num(price),
    }


def _symbol(view: MarketView, params: Params) -> str:
    if params.require("FID_COND_MRKT_DIV_CODE", 2) != "J":
        raise invalid_param("FID_COND_MRKT_DIV_CODE")
    symbol = params.require("FID_INPUT_ISCD", 12)
    if view.listing(symbol) is None:
        raise unknown_symbol()
    return symbol


def today_minutes(view: MarketView, params: Params, tr_cont: str) -> Reply:
    """§7.5: the current session's bars (the last completed one before today's open)."""
    symbol = _symbol(view, params)
    second = _hour(params)
    params.require("FID_PW_DATA_INCU_YN", 2)
    day = view.market.now().date()
    bars = _day_bars(view, symbol, day)
    if not bars:
        day = view.session()
        bars = _day_bars(view, symbol, day)
    shown = _rows(day, bars[: at_or_before(bars, second)])[:TODAY_ROWS]
    return Reply(ok(output1=_summary(view, symbol, day, bars), output2=shown))


def dated_minutes(view: MarketView, params: Params, tr_cont: str) -> Reply:
    """§7.6: the bars of `FID_INPUT_DATE_1` at or before `FID_INPUT_HOUR_1`, up to 120."""
    symbol = _symbol(view, params)
    second = _hour(params)
    day = params.date("FID_INPUT_DATE_1")
    past = params.choice("FID_PW_DATA_INCU_YN", ("Y", "N")) == "Y"
    bars = _day_bars(view, symbol, day)
    output2 = _rows(day, bars[: at_or_before(bars, second)])[:HISTORY_ROWS]
    earlier = day
    for _ in range(_PAST_SESSIONS if past else 0):
        if len(output2) >= HISTORY_ROWS:
            break
        prev = view.prev_session(earlier)
        if prev is None:
            break
        earlier = prev
        output2 += _rows(earlier, _day_bars(view, symbol, earlier))[: HISTORY_ROWS - len(output2)]
    return Reply(ok(output1=_summary(view, symbol, day, bars), output2=output2))


INDEX_ROWS = 102
INDEX_BAR_SECONDS = {"30": 60, "60": 60, "600": 600, "3600": 3600}


def _index_day(view: MarketView, code: str, day: dt.date) -> list[IndexMinute]:
    """The index's one-minute bars of `day`, a completed session (none otherwise)."""
    bar = view.index_bar(code, day)
    if bar is None:
        return []
    seed = view.market.config.seed
    return view.memo(("index_minutes", code, day), lambda: index_minute_bars(seed, code, bar))


def _buckets(bars: list[IndexMinute], size: int) -> list[IndexMinute]:
    """One-minute bars merged into bars of `size` seconds from the session's open."""
    if size == 60 or not bars:
        return bars
    start = bars[0].second
    groups: dict[int, list[IndexMinute]] = {}
    for b in bars:
        groups.setdefault(start + (b.second - start) // size * size, []).append(b)
    return [
        IndexMinute(
            second,
            group[0].open,
            max(b.high for b in group),
            min(b.low for b in group),
            group[-1].close,
            sum(b.volume for b in group),
            sum(b.value for b in group),
        )
        for second, group in groups.items()
    ]


def index_minutes(view: MarketView, params: Params, tr_cont: str) -> Reply:
    """§12.5: the newest 102 bars of the index's current session (see the module docstring)."""
    params.choice("FID_COND_MRKT_DIV_CODE", ("U",))
    params.choice("FID_ETC_CLS_CODE", ("0", "1"), 12)
    code = params.require("FID_INPUT_ISCD", 12)
    size = INDEX_BAR_SECONDS.get(params.require("FID_INPUT_HOUR_1", 12))
    if size is None:
        raise invalid_param("FID_INPUT_HOUR_1")
    past = params.choice("FID_PW_DATA_INCU_YN", ("Y", "N"), 12) == "Y"
    if not view.is_index(code):
        raise unknown_symbol()
    day = view.session()
    output2 = _rows(day, _buckets(_index_day(view, code, day), size))[:INDEX_ROWS]
    earlier = day
    while past and len(output2) < INDEX_ROWS and (prev := view.prev_session(earlier)) is not None:
        earlier = prev
        older = _rows(earlier, _buckets(_index_day(view, code, earlier), size))
        output2 += older[: INDEX_ROWS - len(output2)]
    summary = {"bstp_cls_code": code, "hts_kor_isnm": code}
    return Reply(ok(output1=summary, output2=output2))


OVERSEAS_ROWS = 120
OVERSEAS_HISTORY = dt.timedelta(days=31)


def _overseas_day(view: MarketView, excd: str, symbol: str, bar: Any) -> list[OverseasMinute]:
    seed = view.market.config.seed
    return view.memo(
        ("overseas_minutes", excd, symbol, bar.date),
        lambda: overseas_minute_bars(seed, excd, symbol, bar),
    )


def _keyb(text: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(text, "%Y%m%d%H%M%S")
    except ValueError:
        raise invalid_param("KEYB") from None


def overseas_minutes(view: MarketView, params: Params, tr_cont: str) -> Reply:
    """§13.5: the newest bars (at most `NREC`, 120) of the exchange's sessions of the last month,
    newest first; `PINC` "0" keeps to the newest session; `KEYB` (local `YYYYMMDDHHMMSS`)
    starts from that bar back. An unknown ticker answers no rows."""
    params.require("AUTH", 32)
    excd = params.require("EXCD", 4)
    if excd not in EXCHANGES:
        raise invalid_param("EXCD")
    symbol = params.require("SYMB", 16)
    if params.require("NMIN", 4) != "1":
        raise invalid_param("NMIN")
    past = params.choice("PINC", ("0", "1"), 1) == "1"
    params.choice("NEXT", ("", "1"), 1)
    nrec = params.require("NREC", 4)
    if not nrec.isdigit() or not 1 <= int(nrec) <= OVERSEAS_ROWS:
        raise invalid_param("NREC")
    params.require("FILL", 1)
    key = params.require("KEYB", 32)
    exchange = EXCHANGES[excd]
    known = (excd, symbol) in {(e, s) for e, s, _ in view.market.OVERSEAS}
    last = view.market.overseas_last_day(excd)
    bars = view.market.overseas_bars(excd, symbol, last - OVERSEAS_HISTORY, last) if known else []
    if bars and not past:
        bars = bars[-1:]
    newest_first = [
        m for bar in reversed(bars) for m in reversed(_overseas_day(view, excd, symbol, bar))
    ]
    if key:
        until = _keyb(key)
        newest_first = [m for m in newest_first if m.start <= until]
    shown = newest_first[: int(nrec)]
    places = exchange.zdiv
    output2 = []
    for m in shown:
        korea = m.start.replace(tzinfo=exchange.zone).astimezone(KST)
        output2.append(
            {
                "tymd": ymd(m.start.date()),
                "xymd": ymd(m.start.date()),
                "xhms": f"{m.start:%H%M%S}",
                "kymd": ymd(korea.date()),
                "khms": f"{korea:%H%M%S}",
                "open": dec(m.open, places),
                "high": dec(m.high, places),
                "low": dec(m.low, places),
                "last": dec(m.close, places),
                "evol": num(m.volume),
                "eamt": num(m.value),
            }
        )
    more = "1" if len(newest_first) > len(shown) else "0"
    output1 = {
        "rsym": f"D{excd}{symbol}" if known else "",
        "zdiv": str(places),
        "next": more,
        "more": more,
        "nrec": str(len(output2)),
    }
    return Reply(ok(output1=output1, output2=output2))


ENDPOINTS = (
    Endpoint(f"{QUOTATIONS}/inquire-time-itemchartprice", "FHKST03010200", today_minutes),
    Endpoint(f"{QUOTATIONS}/inquire-time-dailychartprice", "FHKST03010230", dated_minutes),
    Endpoint(f"{QUOTATIONS}/inquire-time-indexchartprice", "FHKUP03500200", index_minutes),
    Endpoint(
        "/uapi/overseas-price/v1/quotations/inquire-time-itemchartprice",
        "HHDFS76950200",
        overseas_minutes,
    ),
)
