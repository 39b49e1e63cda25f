"""Rankings (SPEC §8): volume (FHPST01710000), change rate (FHPST01700000), market cap
(FHPST01740000).

Each answers at most 30 rows of the current snapshot, the last completed session, with no
paging and no way to ask for another day (§8). Rows honour the market/sector filter
(`0000` all, `0001` KOSPI, `1001` KOSDAQ, `2001` KOSPI200, else a sector code as in the master
files), common/preferred (`FID_DIV_CLS_CODE`), the preferred-share bit of the exclusion mask,
the price band and the minimum volume; the fluctuation ranking also honours the change-rate
band and `fid_input_cnt_1` (days of the `prd_rsfl` period, 0 = today only). Its price-basis
switch `fid_prc_cls_code` is accepted but every rate is measured against the base price.
The rise/fall and volume orders come from `Market.ranking`; the other sort keys are computed
here from the session's bars.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
    ymd,
)
from kis_pipeline.simulator.rest_market import DaySnap, MarketView, is_preferred, noise
from kis_pipeline.simulator.rest_quotes import change_fields

RANK_ROWS = 30
RANK_MARKETS = ("J", "NX")
PREFERRED_EXCLUSION_BIT = 4  # 5th char of FID_TRGT_EXLS_CLS_CODE: exclude preferred shares


@dataclass(frozen=True)
class Candidate:
    listing: Any
    snap: DaySnap

    @property
    def bar(self) -> Any:
        return self.snap.bar

    @property
    def rate(self) -> float:
        base = self.bar.prev_close
        return (self.bar.close - base) / base * 100.0 if base else 0.0


def _number(params: Params, name: str, max_len: int = 12) -> float | None:
    raw = params.require(name, max_len)
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise invalid_param(name) from None


def _candidates(view: MarketView, params: Params, *, upper: bool) -> list[Candidate]:
    """The session's symbols that pass the common filters of the ranking TRs."""
    name = (lambda n: n.upper()) if upper else (lambda n: n.lower())
    params.choice(name("fid_cond_mrkt_div_code"), RANK_MARKETS)
    params.require(name("fid_cond_scr_div_code"), 5)
    market = params.require(name("fid_input_iscd"), 12)
    div = params.choice(name("fid_div_cls_code"), ("0", "1", "2"))
    params.require(name("fid_trgt_cls_code"), 32)
    exclusions = params.require(name("fid_trgt_exls_cls_code"), 32)
    low = _number(params, name("fid_input_price_1"))
    high = _number(params, name("fid_input_price_2"))
    min_volume = _number(params, name("fid_vol_cnt"))
    no_preferred = len(exclusions) > PREFERRED_EXCLUSION_BIT and (
        exclusions[PREFERRED_EXCLUSION_BIT] == "1"
    )
    out = []
    for symbol, snap in view.universe_snapshot(view.session()).items():
        listing = view.listing(symbol)
        bar = snap.bar
        preferred = is_preferred(symbol)
        if (
            not view.in_market(listing, market)
            or (div == "1" and preferred)
            or (div == "2" and not preferred)
            or (no_preferred and preferred)
            or (low is not None and bar.close < low)
            or (high is not None and bar.close > high)
            or (min_volume is not None and bar.volume < min_volume)
        ):
            continue
        out.append(Candidate(listing, snap))
    return out


def _ranked(view: MarketView, kind: str, pool: list[Candidate]) -> list[Candidate]:
    by_symbol = {c.listing.symbol: c for c in pool}
    order = view.market.ranking(view.session(), kind)
    return [by_symbol[s] for s in order if s in by_symbol]


def _sorted(pool: list[Candidate], key: Callable[[Candidate], float]) -> list[Candidate]:
    return sorted(pool, key=lambda c: (-key(c), c.listing.symbol))


def _market_cap(c: Candidate) -> int:
    return c.bar.close * c.listing.listed_shares


# ---- §8.1 volume-rank ------------------------------------------------------------------------


def volume_rank(view: MarketView, params: Params, tr_cont: str) -> Reply:
    pool = _candidates(view, params, upper=True)
    basis = params.choice("FID_BLNG_CLS_CODE", ("0", "1", "2", "3", "4"))

    def growth(c: Candidate) -> float:
        prev = c.snap.prev
        return c.bar.volume / prev.volume if prev is not None and prev.volume else 0.0

    keys: dict[str, Callable[[Candidate], float]] = {
        "1": growth,
        "2": lambda c: c.bar.volume / c.listing.listed_shares,
        "3": lambda c: c.bar.value,
        "4": lambda c: c.bar.value / max(_market_cap(c), 1),
    }
    ranked = _ranked(view, "volume", pool) if basis == "0" else _sorted(pool, keys[basis])
    rows = []
    for rank, c in enumerate(ranked[:RANK_ROWS], start=1):
        bar, prev, listing = c.bar, c.snap.prev, c.listing
        change, change_sign, change_rate = change_fields(bar.close, bar.prev_close)
        prev_volume = prev.volume if prev is not None else 0
        turnover = rate(bar.volume, listing.listed_shares)
        value_turnover = rate(bar.value, _market_cap(c))
        rows.append(
            {
                "hts_kor_isnm": listing.name,
                "mksc_shrn_iscd": listing.symbol,
                "data_rank": str(rank),
                "stck_prpr": num(bar.close),
                "prdy_vrss_sign": change_sign,
                "prdy_vrss": change,
                "prdy_ctrt": change_rate,
                "acml_vol": num(bar.volume),
                "prdy_vol": num(prev_volume),
                "lstn_stcn": num(listing.listed_shares),
                "avrg_vol": num(bar.volume),
                "n_befr_clpr_vrss_prpr_rate": change_rate,
                "vol_inrt": rate(bar.volume, prev_volume),
                "vol_tnrt": turnover,
                "nday_vol_tnrt": turnover,
                "avrg_tr_pbmn": num(bar.value),
                "tr_pbmn_tnrt": value_turnover,
                "nday_tr_pbmn_tnrt": value_turnover,
                "acml_tr_pbmn": num(bar.value),
            }
        )
    return Reply(ok(output=rows))


# ---- §8.2 fluctuation ------------------------------------------------------------------------


def fluctuation(view: MarketView, params: Params, tr_cont: str) -> Reply:
    pool = _candidates(view, params, upper=False)
    sort = params.choice("fid_rank_sort_cls_code", ("0", "1", "2", "3", "4"))
    days_raw = params.require("fid_input_cnt_1", 12) or "0"
    if not days_raw.isdigit():
        raise invalid_param("fid_input_cnt_1")
    period_days = int(days_raw)
    params.require("fid_prc_cls_code", 2)
    lo_rate = _number(params, "fid_rsfl_rate1", 16)
    hi_rate = _number(params, "fid_rsfl_rate2", 16)
    pool = [
        c
        for c in pool
        if (lo_rate is None or c.rate >= lo_rate) and (hi_rate is None or c.rate <= hi_rate)
    ]

    def vs_open(c: Candidate) -> float:
        return (c.bar.close - c.bar.open) / c.bar.open if c.bar.open else 0.0

    if sort in ("0", "1"):
        ranked = _ranked(view, "rise" if sort == "0" else "fall", pool)
    elif sort == "2":
        ranked = _sorted(pool, vs_open)
    elif sort == "3":
        ranked = _sorted(pool, lambda c: -vs_open(c))
    else:
        ranked = _sorted(pool, lambda c: (c.bar.high - c.bar.low) / max(c.bar.prev_close, 1))
    day = view.session()
    rows = [
        _fluctuation_row(view, c, rank, day, period_days)
        for rank, c in enumerate(ranked[:RANK_ROWS], start=1)
    ]
    return Reply(ok(output=rows))


def _streaks(view: MarketView, symbol: str, day: dt.date) -> tuple[int, int]:
    """(consecutive rising days, consecutive falling days) ending on `day`."""
    bars = view.market.daily_bars(symbol, day - dt.timedelta(days=45), day)
    up = down = 0
    for bar in reversed(bars):
        if bar.close > bar.prev_close and not down:
            up += 1
        elif bar.close < bar.prev_close and not up:
            down += 1
        else:
            break
    return up, down


def _session_time(symbol: str, day: dt.date, salt: str) -> str:
    minutes = int(noise(symbol, day, salt) * 380)  # 09:00 .. 15:20
    return f"{9 + minutes // 60:02d}{minutes % 60:02d}00"


def _fluctuation_row(
    view: MarketView, c: Candidate, rank: int, day: dt.date, period_days: int
) -> dict[str, str]:
    bar, listing = c.bar, c.listing
    symbol = listing.symbol
    change, change_sign, change_rate = change_fields(bar.close, bar.prev_close)
    high, high_date, low, low_date = bar.high, day, bar.low, day
    period_change, period_rate = 0, "0.00"
    if period_days > 0:
        days = view.sessions_until(day, period_days)
        window = view.market.daily_bars(symbol, days[-1], day)
        if window:
            top = max(window, key=lambda b: b.high)
            bottom = min(window, key=lambda b: b.low)
            high, high_date, low, low_date = top.high, top.date, bottom.low, bottom.date
            reference = window[0].prev_close
            period_change = bar.close - reference
            period_rate = rate(period_change, reference)
    up, down = _streaks(view, symbol, day)
    open_change = bar.close - bar.open
    return {
        "stck_shrn_iscd": symbol,
        "data_rank": str(rank),
        "hts_kor_isnm": listing.name,
        "stck_prpr": num(bar.close),
        "prdy_vrss": change,
        "prdy_vrss_sign": change_sign,
        "prdy_ctrt": change_rate,
        "acml_vol": num(bar.volume),
        "stck_hgpr": num(high),
        "hgpr_hour": _session_time(symbol, high_date, "high"),
        "acml_hgpr_date": ymd(high_date),
        "stck_lwpr": num(low),
        "lwpr_hour": _session_time(symbol, low_date, "low"),
        "acml_lwpr_date": ymd(low_date),
        "lwpr_vrss_prpr_rate": rate(bar.close - low, low),
        "dsgt_date_clpr_vrss_prpr_rate": change_rate,
        "cnnt_ascn_dynu": str(up),
        "hgpr_vrss_prpr_rate": rate(bar.close - high, high),
        "cnnt_down_dynu": str(down),
        "oprc_vrss_prpr_sign": sign(open_change),
        "oprc_vrss_prpr": num(open_change),
        "oprc_vrss_prpr_rate": rate(open_change, bar.open),
        "prd_rsfl": num(period_change),
        "prd_rsfl_rate": period_rate,
    }


# ---- §8.3 market-cap -------------------------------------------------------------------------


def market_cap(view: MarketView, params: Params, tr_cont: str) -> Reply:
    pool = _candidates(view, params, upper=False)
    day = view.session()

    def market_totals() -> dict[str, int]:
        totals: dict[str, int] = {}
        for symbol, snap in view.universe_snapshot(day).items():
            listing = view.listing(symbol)
            totals[listing.market] = (
                totals.get(listing.market, 0) + snap.bar.close * listing.listed_shares
            )
        return totals

    totals = view.memo(("market_cap_totals", day), market_totals)
    rows = []
    for rank, c in enumerate(_ranked(view, "market_cap", pool)[:RANK_ROWS], start=1):
        bar, listing = c.bar, c.listing
        change, change_sign, change_rate = change_fields(bar.close, bar.prev_close)
        cap = _market_cap(c)
        rows.append(
            {
                "mksc_shrn_iscd": listing.symbol,
                "data_rank": str(rank),
                "hts_kor_isnm": listing.name,
                "stck_prpr": num(bar.close),
                "prdy_vrss": change,
                "prdy_vrss_sign": change_sign,
                "prdy_ctrt": change_rate,
                "acml_vol": num(bar.volume),
                "lstn_stcn": num(listing.listed_shares),
                # KRW 100 million (억원), as in the portal example.
                "stck_avls": num(cap / 1e8),
                "mrkt_whol_avls_rlim": dec(cap / totals.get(listing.market, cap) * 100.0),
            }
        )
    return Reply(ok(output=rows))


ENDPOINTS = (
    Endpoint("/uapi/domestic-stock/v1/quotations/volume-rank", "FHPST01710000", volume_rank),
    Endpoint("/uapi/domestic-stock/v1/ranking/fluctuation", "FHPST01700000", fluctuation),
    Endpoint("/uapi/domestic-stock/v1/ranking/market-cap", "FHPST01740000", market_cap),
)
