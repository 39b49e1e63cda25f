"""Period charts: domestic stock (SPEC §7.3, FHKST03010100), domestic index (§12.3,
FHKUP03500100) and overseas stock (§13.3, HHDFS76240000).

None of them pages with tr_cont: each call returns the newest rows of its window (100 stock
bars, 50 index bars, 100 overseas rows), newest first, and the caller walks the end date back.
A window whose start is after its end, or before the history, is answered with an empty row
list (rt_cd "0"), which is how a walk knows it is done.

Stock chart: `FID_ORG_ADJ_PRC` 0 = adjusted (prices x `Market.adj_factor`, volumes divided by
it, rounded to whole numbers), 1 = raw; split days carry `flng_cls_code` "01", `prtt_rate` and
`revl_issu_reas` in both. A name delisted inside the history (`market_delisted`) is charted
up to its last session, with a summary of its identity only. W/M/Y periods aggregate the
daily bars of the window; `NX` and `UN` chart the venue's bars (`venues`). Index chart:
`acml_vol`/`acml_tr_pbmn` are in thousand shares / KRW million (the magnitudes of the portal
example). Overseas: `BYMD` blank = the exchange's last completed day; `diff` is unsigned with
the direction in `sign`, and `rate` carries an explicit "+" (as in the portal example); an
unknown ticker answers rt_cd "0" with empty output1 fields and no rows; an `EXCD` outside the
documented list is OPSQ2001. Prices carry the exchange's `zdiv` decimals (4 in the US, none in
Vietnam: `common.overseas_exchanges`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kis_pipeline.common.overseas_exchanges import EXCHANGES
from kis_pipeline.simulator.rest_common import (
    Endpoint,
    Params,
    Reply,
    dec,
    invalid_param,
    num,
    ok,
    rate,
    sign,
    unknown_symbol,
    ymd,
)
from kis_pipeline.simulator.rest_market import INDEX_NAMES_KR, MarketView, noise
from kis_pipeline.simulator.rest_quotes import change_fields, stock_market_code
from kis_pipeline.simulator.venues import on_venue

STOCK_CHART_ROWS = 100
INDEX_CHART_ROWS = 50
OVERSEAS_ROWS = 100
PERIODS = ("D", "W", "M", "Y")


@dataclass(frozen=True)
class Row:
    """One chart row in output units, before formatting."""

    date: dt.date
    open: float
    high: float
    low: float
    close: float
    volume: int
    value: float
    base: float  # previous row's close, or the day's base price
    flng_cls_code: str = "00"
    prtt_rate: float = 0.0
    revl_issu_reas: str = ""


def _period_key(period: str) -> Callable[[dt.date], object]:
    if period == "W":
        return lambda d: d.isocalendar()[:2]
    if period == "M":
        return lambda d: (d.year, d.month)
    return lambda d: d.year


def aggregate(rows: Sequence[Row], period: str) -> list[Row]:
    """Daily rows (ascending) grouped into W/M/Y rows dated by their last day."""
    if period == "D":
        return list(rows)
    key = _period_key(period)
    out: list[Row] = []
    group: list[Row] = []
    for row in rows:
        if group and key(group[0].date) != key(row.date):
            out.append(_merge(group, out[-1].close if out else group[0].base))
            group = []
        group.append(row)
    if group:
        out.append(_merge(group, out[-1].close if out else group[0].base))
    return out


def _merge(group: list[Row], base: float) -> Row:
    return Row(
        date=group[-1].date,
        open=group[0].open,
        high=max(r.high for r in group),
        low=min(r.low for r in group),
        close=group[-1].close,
        volume=sum(r.volume for r in group),
        value=sum(r.value for r in group),
        base=base,
    )


def _window(params: Params) -> tuple[dt.date, dt.date]:
    return params.date("FID_INPUT_DATE_1"), params.date("FID_INPUT_DATE_2")


# ---- §7.3 inquire-daily-itemchartprice -----------------------------------------------------


def stock_chart(view: MarketView, params: Params, tr_cont: str) -> Reply:
    venue = stock_market_code(params)
    symbol = params.require("FID_INPUT_ISCD", 12)
    start, end = _window(params)
    period = params.choice("FID_PERIOD_DIV_CODE", PERIODS, 32)
    adjusted = params.choice("FID_ORG_ADJ_PRC", ("0", "1"), 10) == "0"
    listing = view.listing(symbol)
    gone = view.market.delisted(symbol) if listing is None else None
    if listing is None and gone is None:
        raise unknown_symbol()
    bars = view.market.daily_bars(symbol, start, end) if start <= end else []
    seen = [on_venue(venue, listing or gone, bar) for bar in bars]
    bars = [bar for bar in seen if bar is not None]
    has_actions = adjusted and listing is not None and bool(view.market.corporate_actions(symbol))
    rows = []
    for bar in bars:
        factor = view.market.adj_factor(symbol, bar.date) if has_actions else 1.0
        rows.append(
            Row(
                date=bar.date,
                open=round(bar.open * factor),
                high=round(bar.high * factor),
                low=round(bar.low * factor),
                close=round(bar.close * factor),
                volume=round(bar.volume / factor),
                value=bar.value,
                base=round(bar.prev_close * factor),
                flng_cls_code=bar.flng_cls_code,
                prtt_rate=bar.prtt_rate,
                revl_issu_reas=bar.revl_issu_reas,
            )
        )
    rows = aggregate(rows, period)[-STOCK_CHART_ROWS:]
    output2 = []
    for row in reversed(rows):
        change, change_sign, _ = change_fields(int(row.close), int(row.base))
        output2.append(
            {
                "stck_bsop_date": ymd(row.date),
                "stck_clpr": num(row.close),
                "stck_oprc": num(row.open),
                "stck_hgpr": num(row.high),
                "stck_lwpr": num(row.low),
                "acml_vol": num(row.volume),
                "acml_tr_pbmn": num(row.value),
                "flng_cls_code": row.flng_cls_code,
                "prtt_rate": dec(row.prtt_rate),
                "mod_yn": "N",
                "prdy_vrss_sign": change_sign,
                "prdy_vrss": change,
                "revl_issu_reas": row.revl_issu_reas,
            }
        )
    summary = _stock_summary(view, listing) if listing is not None else _delisted_summary(gone)
    return Reply(ok(output1=summary, output2=output2))


def _delisted_summary(gone: Any) -> dict[str, str]:
    """The summary of a name no longer traded: its identity and nothing of a session."""
    return {
        "hts_kor_isnm": gone.name,
        "stck_shrn_iscd": gone.symbol,
        "stck_prpr": "0",
        "acml_vol": "0",
        "stck_fcam": num(gone.par_value),
        "lstn_stcn": num(gone.listed_shares),
    }


def _stock_summary(view: MarketView, listing: Any) -> dict[str, str]:
    symbol = listing.symbol
    day = view.session()
    last = view.bar(symbol, day) or view.last_bar(symbol, day)
    stats = view.market.quote_stats(symbol, last.date) if last is not None else None
    if last is None or stats is None:
        raise unknown_symbol()
    traded = last.date == day
    prev_day = view.prev_session(last.date)
    prev = view.bar(symbol, prev_day) if prev_day is not None else None
    base = last.prev_close if traded else last.close
    change, change_sign, change_rate = change_fields(last.close, base)
    volume = last.volume if traded else 0
    prev_volume = prev.volume if prev is not None else 0
    par = listing.par_value
    return {
        "prdy_vrss": change,
        "prdy_vrss_sign": change_sign,
        "prdy_ctrt": change_rate,
        "stck_prdy_clpr": num(prev.close if prev is not None else base),
        "acml_vol": num(volume),
        "acml_tr_pbmn": num(last.value if traded else 0),
        "hts_kor_isnm": listing.name,
        "stck_prpr": num(last.close),
        "stck_shrn_iscd": symbol,
        "prdy_vol": num(prev_volume),
        "stck_mxpr": num(stats.upper_limit),
        "stck_llam": num(stats.lower_limit),
        "stck_oprc": num(last.open if traded else 0),
        "stck_hgpr": num(last.high if traded else 0),
        "stck_lwpr": num(last.low if traded else 0),
        "stck_prdy_oprc": num(prev.open if prev is not None else 0),
        "stck_prdy_hgpr": num(prev.high if prev is not None else 0),
        "stck_prdy_lwpr": num(prev.low if prev is not None else 0),
        "askp": num(last.close),
        "bidp": num(last.close),
        "prdy_vrss_vol": num(volume - prev_volume),
        "vol_tnrt": dec(stats.volume_turnover if traded else 0.0),
        "stck_fcam": num(par),
        "lstn_stcn": num(stats.listed_shares),
        "cpfn": num(stats.listed_shares * par / 1e8),
        "hts_avls": num(stats.market_cap / 1e8),
        "per": dec(stats.per),
        "eps": dec(stats.eps),
        "pbr": dec(stats.pbr),
        "itewhol_loan_rmnd_ratem": dec(0.05 + 2.0 * noise(symbol, "loan")),
    }


# ---- §12.3 inquire-daily-indexchartprice ---------------------------------------------------


def index_chart(view: MarketView, params: Params, tr_cont: str) -> Reply:
    params.choice("FID_COND_MRKT_DIV_CODE", ("U",))
    code = params.require("FID_INPUT_ISCD", 12)
    start, end = _window(params)
    period = params.choice("FID_PERIOD_DIV_CODE", PERIODS, 32)
    if not view.is_index(code):
        raise unknown_symbol()
    bars = view.index_bars(code, start, end) if start <= end else []
    rows = [
        Row(b.date, b.open, b.high, b.low, b.close, b.volume, b.value, b.prev_close) for b in bars
    ]
    rows = aggregate(rows, period)[-INDEX_CHART_ROWS:]
    output2 = [
        {
            "stck_bsop_date": ymd(row.date),
            "bstp_nmix_prpr": dec(row.close),
            "bstp_nmix_oprc": dec(row.open),
            "bstp_nmix_hgpr": dec(row.high),
            "bstp_nmix_lwpr": dec(row.low),
            "acml_vol": num(row.volume // 1000),
            "acml_tr_pbmn": num(row.value // 1_000_000),
            "mod_yn": "N",
        }
        for row in reversed(rows)
    ]
    return Reply(ok(output1=_index_summary(view, code), output2=output2))


def index_levels(bar: Any) -> dict[str, str]:
    """An index's level, change and volume on a day, in KIS's index units (thousands of
    shares, KRW millions)."""
    change = bar.close - bar.prev_close
    return {
        "prdy_vrss_sign": sign(round(change, 2)),
        "bstp_nmix_prdy_vrss": dec(change),
        "bstp_nmix_prdy_ctrt": rate(change, bar.prev_close),
        "acml_vol": num(bar.volume // 1000),
        "acml_tr_pbmn": num(bar.value // 1_000_000),
        "bstp_nmix_prpr": dec(bar.close),
    }


def _index_summary(view: MarketView, code: str) -> dict[str, str]:
    day = view.session()
    bar = view.index_bar(code, day)
    prev_day = view.prev_session(day)
    prev = view.index_bar(code, prev_day) if prev_day is not None else None
    if bar is None:
        raise unknown_symbol()
    futures = prev or bar
    return {
        **index_levels(bar),
        "prdy_nmix": dec(bar.prev_close),
        "hts_kor_isnm": INDEX_NAMES_KR.get(code, code),
        "bstp_cls_code": code,
        "prdy_vol": num(prev.volume // 1000 if prev is not None else 0),
        "bstp_nmix_oprc": dec(bar.open),
        "bstp_nmix_hgpr": dec(bar.high),
        "bstp_nmix_lwpr": dec(bar.low),
        # Index futures trade near the index; the previous day's levels stand in for them.
        "futs_prdy_oprc": dec(futures.open),
        "futs_prdy_hgpr": dec(futures.high),
        "futs_prdy_lwpr": dec(futures.low),
    }


# ---- §13.3 overseas dailyprice -------------------------------------------------------------


def overseas_daily(view: MarketView, params: Params, tr_cont: str) -> Reply:
    params.require("AUTH", 32)
    excd = params.require("EXCD", 4)
    if excd not in EXCHANGES:
        raise invalid_param("EXCD")
    symbol = params.require("SYMB", 16)
    gubn = params.choice("GUBN", ("0", "1", "2"), 1)
    params.choice("MODP", ("0", "1"), 1)
    known = (excd, symbol) in {(e, s) for e, s, _ in view.market.OVERSEAS}
    if not known:
        return Reply(ok(output1={"rsym": "", "zdiv": "0", "nrec": "0"}, output2=[]))
    last_day = view.market.overseas_last_day(excd)
    end = params.date("BYMD", max_len=8, blank=last_day)
    # Enough calendar days to fill 100 rows of the requested period.
    span = {"0": 150, "1": 720, "2": 3100}[gubn]
    bars = view.market.overseas_bars(excd, symbol, end - dt.timedelta(days=span), end)
    rows = [
        Row(b.date, b.open, b.high, b.low, b.close, b.volume, b.value, b.prev_close) for b in bars
    ]
    rows = aggregate(rows, "DWM"[int(gubn)])[-OVERSEAS_ROWS:]
    places = EXCHANGES[excd].zdiv
    output2 = []
    for row in reversed(rows):
        change = round(row.close - row.base, places)
        pct = change / row.base * 100.0 if row.base else 0.0
        tick = 10.0 ** -min(places, 2)
        output2.append(
            {
                "xymd": ymd(row.date),
                "clos": dec(row.close, places),
                "sign": sign(change),
                "diff": dec(abs(change), places),
                "rate": f"+{pct:.2f}" if round(pct, 2) > 0 else dec(pct),
                "open": dec(row.open, places),
                "high": dec(row.high, places),
                "low": dec(row.low, places),
                "tvol": num(row.volume),
                "tamt": num(row.value),
                "pbid": dec(row.close - tick, places),
                "vbid": num(100 * (1 + int(9 * noise(symbol, row.date, "vbid")))),
                "pask": dec(row.close + tick, places),
                "vask": num(100 * (1 + int(9 * noise(symbol, row.date, "vask")))),
            }
        )
    output1 = {"rsym": f"D{excd}{symbol}", "zdiv": str(places), "nrec": str(len(output2))}
    return Reply(ok(output1=output1, output2=output2))


ENDPOINTS = (
    Endpoint(
        "/uapi/domestic-stock/v1/quotations/inquire-daily-itemchartprice",
        "FHKST03010100",
        stock_chart,
    ),
    Endpoint(
        "/uapi/domestic-stock/v1/quotations/inquire-daily-indexchartprice",
        "FHKUP03500100",
        index_chart,
    ),
    Endpoint("/uapi/overseas-price/v1/quotations/dailyprice", "HHDFS76240000", overseas_daily),
)
