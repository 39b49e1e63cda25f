"""The ranking screens of SPEC §8.4-§8.16: valuation (FHPST01790000), financial ratios
(FHPST01750000), profits and assets (FHPST01730000), resting quantities (FHPST01720000),
execution strength (FHPST01680000), disparity (FHPST01780000),
dividend rate (HHKDB13470100), short sales (FHPST04820000), credit balances (FHKST17010000),
names near a new high or low (FHPST01870000), block trades (FHKST190900C0), watchlist
registrations (FHPST01800000) and the auctions' expected executions (FHPST01820000).

Each answers the top 30 of the last completed session, with no paging and no way to ask for
another day (§8), read off the same books as the endpoints a user can check them against: the
annual accounts of §10.1-§10.7 (a period's figures once published), the day's activity of
§9.9-§9.12, the dividends of §10.8, the 52-week extremes of §7.1, the closing order book of §7.1
and the daily bars (the disparity is the close against its moving average). A screen's rows
are built once per session and request, then ordered by the field its sort code names,
largest first (ties by code); names near a new high or low come nearest first.

Three screens rest on models of their own, each a function of the seed, the name and the books:
- block trades (§8.14): the tapes play a session only as fast as someone streams it, so they
  are no record of a completed day; instead its trades are `TRADES_A_DAY` (at most one a
  share) whose amounts are lognormal around the bar's mean trade (value / trades), with a
  spread of 1.0-1.8 drawn per name and day. The trades of at least the amount asked for are
  the expected count above it, their shares the expected share of the value above it, split
  between buyers and sellers as the day's volume was (`Activity`), leaning up to 15 points
  either way per name and day (`block_trades`);
- watchlist registrations (§8.15): a popularity of the name's own (0.2-1.2, stable) times the
  square root of its average traded value over the last `WATCH_SESSIONS` sessions, in KRW
  thousands (`registrations`);
- expected executions (§8.16): after the close, the closing auction's: its price is the close,
  against the base price, and it executed the last bar of the day's minute bars
  (`market_minutes.closing_auction`); the book is the closing one of §8.7.

Left out: the valuation screen's PCR and EBITDA-to-financial-cost (the books hold no cash flow
or financial cost), so their sort codes are refused; the market filters beyond the market
code (bounds of price, volume and value, the kinds of issue), and NXT's own figures (`NX`
answers as `J`); the pre-open phase of §8.16, which answers no rows (the opening auction is
not modelled apart from the first minute).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kis_pipeline.simulator.market_minutes import closing_auction
from kis_pipeline.simulator.market_ticks import tick_size
from kis_pipeline.simulator.rest_common import (
    Endpoint,
    Params,
    Reply,
    dec,
    invalid_param,
    num,
    ok,
    rate,
    ymd,
)
from kis_pipeline.simulator.rest_finance import derived_ratios
from kis_pipeline.simulator.rest_market import (
    MarketView,
    is_preferred,
    noise,
    resting_quantities,
)
from kis_pipeline.simulator.rest_quotes import change_fields

RANK_ROWS = 30
Row = dict[str, str]
Builder = Callable[[MarketView, Params, dt.date], list[tuple[str, Row, dict[str, float]]]]
# The period code of `fid_input_option_2` -> the month the period ends.
PERIOD_MONTHS = {"0": "03", "1": "06", "2": "09", "3": "12"}
# §8.11 lookbacks with `D`: `fid_input_cnt_1` -> sessions.
SHORT_DAYS = {"0": 1, "1": 2, "2": 3, "3": 4, "4": 5, "9": 10, "14": 15}
SESSIONS_A_MONTH = 21
# A day's trades, about as many as the tapes make of it (`ticks`).
TRADES_A_DAY = 20_000
# The sessions whose traded value draws watchers (§8.15).
WATCH_SESSIONS = 20
SYMBOL = re.compile(r"[0-9A-Z]{6}")


@dataclass(frozen=True)
class Screen:
    """One ranking screen: the parameters it must be sent, how its rows are built, its sort
    parameter and codes (code -> the key its rows are ordered by; `key` when it has no sort
    parameter), the field carrying the rank (None: KIS sends none), where rows go and the
    parameter naming the rank to start from (None: the first)."""

    path: str
    tr_id: str
    required: tuple[str, ...]
    build: Builder
    sort_param: str | None = None
    sorts: Mapping[str, str] | None = None
    key: str = ""
    rank_field: str | None = "data_rank"
    container: str = "output"
    nearest_first: bool = False
    start_param: str | None = None

    def handle(self, view: MarketView, params: Params, tr_cont: str) -> Reply:
        for name in self.required:
            params.require(name, 32)
        key = self.key
        if self.sort_param is not None and self.sorts is not None:
            code = params.choice(self.sort_param, tuple(self.sorts))
            key = self.sorts[code]
        session = view.session()
        memo_key = (self.tr_id, session, tuple(sorted(params.query.items())))
        rows = view.memo(memo_key, lambda: self.build(view, params, session))
        order = sorted(
            rows,
            key=lambda r: (r[2][key] if self.nearest_first else -r[2][key], r[0]),
        )
        first = self.first_rank(params)
        out = []
        for rank, (_, row, _) in enumerate(order[first - 1 :][:RANK_ROWS], start=first):
            out.append({**row, self.rank_field: str(rank)} if self.rank_field else dict(row))
        extra = {"output1": self.summary(view, session)} if self.container == "output2" else {}
        return Reply(ok(**{self.container: out}, **extra))

    def first_rank(self, params: Params) -> int:
        if self.start_param is None:
            return 1
        text = params.require(self.start_param, 10)
        if not text.isdigit() or int(text) < 1:
            raise invalid_param(self.start_param)
        return int(text)

    def summary(self, view: MarketView, session: dt.date) -> list[Row]:
        # §8.12's output1: the market and the dates the balances describe.
        return [
            {
                "bstp_cls_code": "0000",
                "hts_kor_isnm": "전체",
                "stnd_date1": ymd(session),
                "stnd_date2": ymd(session),
            }
        ]


def _quote(listing: Any, bar: Any) -> Row:
    change, change_sign, change_rate = change_fields(bar.close, bar.prev_close)
    return {
        "hts_kor_isnm": listing.name,
        "stck_prpr": num(bar.close),
        "prdy_vrss": change,
        "prdy_vrss_sign": change_sign,
        "prdy_ctrt": change_rate,
        "acml_vol": num(bar.volume),
    }


def _best_prices(bar: Any) -> Row:
    """The closing book's best ask and bid: a tick above the close, and the close."""
    return {"askp": num(bar.close + tick_size(bar.close)), "bidp": num(bar.close)}


def _names(view: MarketView, session: dt.date, market: str = "0000") -> list[tuple[Any, Any]]:
    """(listing, bar) of every name that traded on `session` within `market`."""
    out = []
    for symbol, snap in view.universe_snapshot(session).items():
        listing = view.listing(symbol)
        if listing is not None and view.in_market(listing, market):
            out.append((listing, snap.bar))
    return out


def _market(params: Params) -> str:
    params.choice("fid_cond_mrkt_div_code", ("J", "NX"))
    return params.require("fid_input_iscd", 12)


# ---- annual accounts: §8.4 valuation, §8.5 financial ratios, §8.6 profits and assets ---------


def _period(view: MarketView, params: Params, symbol: str, session: dt.date) -> tuple[Any, Any]:
    """The requested period's figures published by `session`, and those a year before."""
    year = params.require("fid_input_option_1", 10)
    month = PERIOD_MONTHS.get(params.require("fid_input_option_2", 10))
    if not year.isdigit() or month is None:
        raise invalid_param("fid_input_option_1" if not year.isdigit() else "fid_input_option_2")
    kind = "annual" if month == "12" else "quarter"
    periods = {
        p.period: p for p in view.market.financials(symbol, as_of=session) if p.period_type == kind
    }
    return periods.get(f"{year}{month}"), periods.get(f"{int(year) - 1}{month}")


def _accounts(
    figures: Callable[[Any, Any, Any], dict[str, float]],
) -> Builder:
    """Rows of a screen over annual accounts: `figures(period, prior, bar)` gives its fields."""

    def build(view: MarketView, params: Params, session: dt.date) -> list[Any]:
        out = []
        for listing, bar in _names(view, session, _market(params)):
            period, prior = _period(view, params, listing.symbol, session)
            if period is None:
                continue
            values = figures(period, prior, bar)
            row = {
                "mksc_shrn_iscd": listing.symbol,
                **_quote(listing, bar),
                **{name: dec(value) for name, value in values.items()},
                "stac_month": period.period[4:],
                "stac_month_cls_code": "1",
                "iqry_csnu": "30",
            }
            out.append((listing.symbol, row, values))
        return out

    return build


def _per_share(price: int, figure: float) -> float:
    return round(price / figure, 2) if figure > 0 else 0.0


def _valuation(period: Any, prior: Any, bar: Any) -> dict[str, float]:
    r = period.ratios
    derived = derived_ratios(period, prior)
    return {
        "per": _per_share(bar.close, r["eps"]),
        "pbr": _per_share(bar.close, r["bps"]),
        "psr": _per_share(bar.close, r["sps"]),
        "eps": r["eps"],
        "eva": derived["eva"],
        "ebitda": derived["ebitda"],
        "pv_div_ebitda": derived["ev_ebitda"],
    }


def _pct(part: float, whole: float) -> float:
    return round(part / whole * 100.0, 2) if whole > 0 else 0.0


def _finance_ratios(period: Any, prior: Any, bar: Any) -> dict[str, float]:
    b, i, r = period.balance, period.income, period.ratios
    derived = derived_ratios(period, prior)
    before = prior.income["op_prfi"] if prior is not None else 0.0
    return {
        "cptl_op_prfi": _pct(i["op_prfi"], b["total_aset"]),
        "cptl_ntin_rate": derived["cptl_ntin_rate"],
        "sale_totl_rate": derived["sale_totl_rate"],
        "sale_ntin_rate": derived["sale_ntin_rate"],
        "bis": _pct(b["total_cptl"], b["total_aset"]),
        "lblt_rate": r["lblt_rate"],
        "bram_depn": derived["bram_depn"],
        "rsrv_rate": r["rsrv_rate"],
        "grs": r["grs"],
        "op_prfi_inrt": _pct(i["op_prfi"] - before, before) if before > 0 else 0.0,
        "bsop_prfi_inrt": r["bsop_prfi_inrt"],
        "ntin_inrt": r["ntin_inrt"],
        "equt_inrt": derived["equt_inrt"],
        "cptl_tnrt": round(i["sale_account"] / b["total_aset"], 2) if b["total_aset"] > 0 else 0.0,
        "totl_aset_inrt": derived["totl_aset_inrt"],
    }


PROFIT_ASSET_FIELDS = {
    "sale_totl_prfi": "income",
    "bsop_prti": "income",
    "op_prfi": "income",
    "thtr_ntin": "income",
    "total_aset": "balance",
    "total_lblt": "balance",
    "total_cptl": "balance",
}


def _profits_and_assets(period: Any, prior: Any, bar: Any) -> dict[str, float]:
    return {name: getattr(period, part)[name] for name, part in PROFIT_ASSET_FIELDS.items()}


# ---- the closing book and the averages: §8.7 resting quantities, §8.9 disparity -------------


def _resting(view: MarketView, params: Params, session: dt.date) -> list[Any]:
    out = []
    for listing, bar in _names(view, session, _market(params)):
        _, _, ask, bid = resting_quantities(listing.symbol, session, bar.volume)
        bid_ratio = bid / (ask + bid) * 100.0 if ask + bid else 0.0
        row = {
            "mksc_shrn_iscd": listing.symbol,
            **_quote(listing, bar),
            "total_askp_rsqn": num(ask),
            "total_bidp_rsqn": num(bid),
            "total_ntsl_bidp_rsqn": num(bid - ask),
            "shnu_rsqn_rate": dec(bid_ratio),
            "seln_rsqn_rate": dec(100.0 - bid_ratio),
        }
        keys = {
            "net_bid": float(bid - ask),
            "net_ask": float(ask - bid),
            "bid_ratio": round(bid_ratio, 2),
            "ask_ratio": round(100.0 - bid_ratio, 2),
        }
        out.append((listing.symbol, row, keys))
    return out


DISPARITY_WINDOWS = (5, 10, 20, 60, 120)


def _disparity(view: MarketView, params: Params, session: dt.date) -> list[Any]:
    window = params.choice("fid_hour_cls_code", tuple(map(str, DISPARITY_WINDOWS)), 5)
    days = view.sessions_until(session, max(DISPARITY_WINDOWS))
    out = []
    for listing, bar in _names(view, session, _market(params)):
        closes = [
            b.close for b in reversed(view.market.daily_bars(listing.symbol, days[-1], session))
        ]
        # Newest first; a name with a shorter history is measured on what it has.
        figures = {
            n: round(bar.close / (sum(closes[:n]) / len(closes[:n])) * 100.0, 2)
            for n in DISPARITY_WINDOWS
        }
        row = {
            "mksc_shrn_iscd": listing.symbol,
            **_quote(listing, bar),
            **{f"d{n}_dsrt": dec(value) for n, value in figures.items()},
        }
        chosen = figures[int(window)]
        out.append((listing.symbol, row, {"above": chosen, "below": -chosen}))
    return out


# ---- the day's activity: §8.8 execution strength, §8.11 short sales, §8.12 credit -----------


def _strength(view: MarketView, params: Params, session: dt.date) -> list[Any]:
    params.choice("fid_div_cls_code", ("0", "1", "2"))
    out = []
    for listing, bar in _names(view, session, _market(params)):
        a = view.market.activity(listing.symbol, session)
        if a is None or not a.seller_volume:
            continue
        strength = round(a.buyer_volume / a.seller_volume * 100.0, 2)
        row = {
            "stck_shrn_iscd": listing.symbol,
            **_quote(listing, bar),
            "tday_rltv": dec(strength),
            "seln_cnqn_smtn": num(a.seller_volume),
            "shnu_cnqn_smtn": num(a.buyer_volume),
        }
        out.append((listing.symbol, row, {"tday_rltv": strength}))
    return out


def _short_sessions(view: MarketView, params: Params, session: dt.date) -> list[dt.date]:
    period = params.choice("FID_PERIOD_DIV_CODE", ("D", "M"), 32)
    count = params.require("FID_INPUT_CNT_1", 12)
    if period == "D":
        if count not in SHORT_DAYS:
            raise invalid_param("FID_INPUT_CNT_1")
        return view.sessions_until(session, SHORT_DAYS[count])
    if count not in ("1", "2", "3"):
        raise invalid_param("FID_INPUT_CNT_1")
    return view.sessions_until(session, SESSIONS_A_MONTH * int(count))


def _short_sales(view: MarketView, params: Params, session: dt.date) -> list[Any]:
    params.choice("FID_COND_MRKT_DIV_CODE", ("J",))
    days = _short_sessions(view, params, session)
    out = []
    for listing, bar in _names(view, session, params.require("FID_INPUT_ISCD", 12)):
        volume = value = short_volume = short_value = 0
        for day in days:
            a = view.market.activity(listing.symbol, day)
            b = view.bar(listing.symbol, day)
            if a is None or b is None:
                continue
            volume, value = volume + b.volume, value + b.value
            short_volume, short_value = short_volume + a.short_volume, short_value + a.short_value
        row = {
            "mksc_shrn_iscd": listing.symbol,
            **_quote(listing, bar),
            "acml_vol": num(volume),
            "acml_tr_pbmn": num(value),
            "ssts_cntg_qty": num(short_volume),
            "ssts_vol_rlim": rate(short_volume, volume),
            "ssts_tr_pbmn": num(short_value),
            "ssts_tr_pbmn_rlim": rate(short_value, value),
            "stnd_date1": ymd(days[-1]),
            "stnd_date2": ymd(days[0]),
            "avrg_prc": num(value // volume if volume else 0),
        }
        out.append((listing.symbol, row, {"short_value": float(short_value)}))
    return out


CREDIT_SORTS = {
    "0": "loan_rate",
    "1": "loan_volume",
    "2": "loan_value",
    "3": "loan_change",
    "4": "loan_drop",
    "5": "stock_loan_rate",
    "6": "stock_loan_volume",
    "7": "stock_loan_value",
    "8": "stock_loan_change",
    "9": "stock_loan_drop",
}


def _credit(view: MarketView, params: Params, session: dt.date) -> list[Any]:
    params.choice("FID_COND_MRKT_DIV_CODE", ("J",))
    days_raw = params.require("FID_OPTION", 5)
    if not days_raw.isdigit() or not 2 <= int(days_raw) <= 999:
        raise invalid_param("FID_OPTION")
    sessions = view.sessions_until(session, int(days_raw) + 1)
    earlier = sessions[-1]
    out = []
    for listing, bar in _names(view, session, params.require("FID_INPUT_ISCD", 12)):
        now = view.market.activity(listing.symbol, session)
        then = view.market.activity(listing.symbol, earlier)
        if now is None or then is None:
            continue
        shares = view.market.listed_shares(listing.symbol, session)
        row = {"mksc_shrn_iscd": listing.symbol, **_quote(listing, bar)}
        keys: dict[str, float] = {}
        for prefix, side, then_side in (
            ("loan", now.loan, then.loan),
            ("stln", now.stock_loan, then.stock_loan),
        ):
            balance_rate = side.balance / shares * 100 if shares else 0.0
            change = (
                (side.balance - then_side.balance) / then_side.balance * 100.0
                if then_side.balance
                else 0.0
            )
            row |= {
                f"whol_{prefix}_rmnd_stcn": num(side.balance),
                f"whol_{prefix}_rmnd_amt": num(side.balance * bar.close),
                f"whol_{prefix}_rmnd_rate": dec(balance_rate, 4),
                f"nday_vrss_{prefix}_rmnd_inrt": dec(change),
            }
            name = "loan" if prefix == "loan" else "stock_loan"
            keys |= {
                f"{name}_rate": round(balance_rate, 4),
                f"{name}_volume": side.balance,
                f"{name}_value": side.balance * bar.close,
                f"{name}_change": round(change, 2),
                f"{name}_drop": -round(change, 2),
            }
        out.append((listing.symbol, row, keys))
    return out


# ---- §8.10 dividend rate -------------------------------------------------------------------


DIVIDEND_MARKETS = {"0": None, "1": "KOSPI", "2": "KOSPI200", "3": "KOSDAQ"}


def _dividend_rates(view: MarketView, params: Params, session: dt.date) -> list[Any]:
    market = DIVIDEND_MARKETS[params.choice("GB1", tuple(DIVIDEND_MARKETS), 1)]
    params.require("UPJONG", 4)
    shares = params.choice("GB2", ("0", "6", "7"), 1)
    cash = params.choice("GB3", ("1", "2"), 1) == "2"
    first = params.date("F_DT", max_len=8)
    last = params.date("T_DT", max_len=8)
    kind = params.choice("GB4", ("0", "1", "2"), 1)
    if params.require("CTS_AREA", 17):
        raise invalid_param("CTS_AREA")
    out: list[Any] = []
    if not cash:
        return out  # the books hold cash dividends only
    kospi200 = view.kospi200()
    for listing in view.market.listings:
        if market == "KOSPI200":
            if listing.symbol not in kospi200:
                continue
        elif market is not None and listing.market != market:
            continue
        preferred = is_preferred(listing.symbol)
        if (shares == "6" and preferred) or (shares == "7" and not preferred):
            continue
        for div in view.market.dividends(listing.symbol):
            if not first <= div.record_date <= last:
                continue
            if (kind == "1" and div.kind != "결산") or (kind == "2" and div.kind == "결산"):
                continue
            row = {
                "sht_cd": listing.symbol,
                "isin_name": listing.name,
                "record_date": ymd(div.record_date),
                "per_sto_divi_amt": f"{div.dividend_per_share:012d}",
                "divi_rate": f"{div.cash_rate:6.2f}",
                "divi_kind": div.kind,
            }
            key = f"{listing.symbol}{div.record_date}"
            out.append((key, row, {"divi_rate": div.cash_rate}))
    return out


# ---- §8.13 near a new high or low ----------------------------------------------------------


def _near(view: MarketView, params: Params, session: dt.date) -> list[Any]:
    params.choice("fid_cond_mrkt_div_code", ("J",))
    side = params.choice("fid_prc_cls_code", ("0", "1"), 10)
    low_gap = params.require("fid_input_cnt_1", 2) or "0"
    high_gap = params.require("fid_input_cnt_2", 10) or "100"
    if not (low_gap.isdigit() and high_gap.isdigit()):
        raise invalid_param("fid_input_cnt_1")
    out = []
    for listing, bar in _names(view, session, params.require("fid_input_iscd", 12)):
        stats = view.market.quote_stats(listing.symbol, session)
        if stats is None or not stats.w52_high or not stats.w52_low:
            continue
        below_high = (stats.w52_high - bar.close) / stats.w52_high * 100.0
        above_low = (bar.close - stats.w52_low) / stats.w52_low * 100.0
        gap = below_high if side == "0" else above_low
        if not int(low_gap) <= gap <= int(high_gap):
            continue
        best_ask, best_bid, _, _ = resting_quantities(listing.symbol, session, bar.volume)
        row = {
            "mksc_shrn_iscd": listing.symbol,
            **_quote(listing, bar),
            **_best_prices(bar),
            "askp_rsqn1": num(best_ask),
            "bidp_rsqn1": num(best_bid),
            "new_hgpr": num(stats.w52_high),
            "hprc_near_rate": dec(below_high),
            "new_lwpr": num(stats.w52_low),
            "lwpr_near_rate": dec(above_low),
            "stck_sdpr": num(bar.prev_close),
        }
        out.append((listing.symbol, row, {"gap": round(gap, 2)}))
    return out


# ---- §8.14 block trades, §8.15 watchlists, §8.16 the closing auction ------------------------


@dataclass(frozen=True)
class BlockTrades:
    """A session's trades of at least some amount: how many and the shares of each side."""

    buy_count: int
    sell_count: int
    buy_volume: int
    sell_volume: int


def _above(z: float) -> float:
    """P(Z >= z) of a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def block_trades(seed: int, symbol: str, bar: Any, buyer_share: float, least: int) -> BlockTrades:
    """The trades of at least `least` KRW of `symbol`'s session `bar`, the buyers having taken
    `buyer_share` of the day's volume (the model of the module docstring)."""
    trades = min(bar.volume, TRADES_A_DAY)
    if trades <= 0 or bar.value <= 0:
        return BlockTrades(0, 0, 0, 0)
    spread = 1.0 + 0.8 * noise(seed, symbol, bar.date, "block_spread")
    mu = math.log(bar.value / trades) - spread**2 / 2.0
    z = (math.log(least) - mu) / spread if least > 0 else -math.inf
    count = int(trades * _above(z))
    # The share of the value in trades above `least`, at the day's average price.
    volume = int(bar.volume * _above(z - spread))
    lean = buyer_share + 0.3 * (noise(seed, symbol, bar.date, "block_side") - 0.5)
    lean = min(max(lean, 0.0), 1.0)
    buy_count, buy_volume = round(count * lean), round(volume * lean)
    return BlockTrades(buy_count, count - buy_count, buy_volume, volume - buy_volume)


def _amount(params: Params, name: str, max_len: int) -> int:
    """A whole amount; blank is 0."""
    text = params.require(name, max_len)
    if text and not text.isdigit():
        raise invalid_param(name)
    return int(text or 0)


def _blocks(view: MarketView, params: Params, session: dt.date) -> list[Any]:
    params.choice("fid_div_cls_code", ("0",))
    least = _amount(params, "fid_input_price_1", 12)
    only = params.require("fid_input_iscd_2", 8)
    if only and not SYMBOL.fullmatch(only):
        raise invalid_param("fid_input_iscd_2")
    seed = view.market.config.seed
    out = []
    for listing, bar in _names(view, session, _market(params)):
        if only and listing.symbol != only:
            continue
        a = view.market.activity(listing.symbol, session)
        taken = a.buyer_volume + a.seller_volume if a is not None else 0
        share = a.buyer_volume / taken if a is not None and taken else 0.5
        blocks = block_trades(seed, listing.symbol, bar, share, least)
        if not blocks.buy_count + blocks.sell_count:
            continue
        row = {
            "mksc_shrn_iscd": listing.symbol,
            **_quote(listing, bar),
            "shnu_cntg_csnu": num(blocks.buy_count),
            "seln_cntg_csnu": num(blocks.sell_count),
            "ntby_cnqn": num(blocks.buy_volume - blocks.sell_volume),
        }
        keys = {"buy": float(blocks.buy_count), "sell": float(blocks.sell_count)}
        out.append((listing.symbol, row, keys))
    return out


def registrations(seed: int, symbol: str, values: list[int]) -> int:
    """KIS clients' watchlist registrations of `symbol`, whose recent sessions traded `values`
    (KRW; the model of the module docstring)."""
    popularity = 0.2 + noise(seed, symbol, "watchlist")
    average = sum(values) / len(values) if values else 0.0
    return int(popularity * math.sqrt(average / 1000.0))


def _watchlist(view: MarketView, params: Params, session: dt.date) -> list[Any]:
    if params.require("fid_input_iscd_2", 12) != "000000":
        raise invalid_param("fid_input_iscd_2")
    params.choice("fid_div_cls_code", tuple("01234567"), 12)
    seed = view.market.config.seed
    days = view.sessions_until(session, WATCH_SESSIONS)
    out = []
    for listing, bar in _names(view, session, _market(params)):
        recent = view.market.daily_bars(listing.symbol, days[-1], session)
        count = registrations(seed, listing.symbol, [b.value for b in recent])
        row = {
            "mrkt_div_cls_name": listing.market,
            "mksc_shrn_iscd": listing.symbol,
            **_quote(listing, bar),
            "acml_tr_pbmn": num(bar.value),
            **_best_prices(bar),
            "inter_issu_reg_csnu": num(count),
        }
        out.append((listing.symbol, row, {"registrations": float(count)}))
    return out


# §8.16 sort code -> (its key, the sign of the change of the names it lists; None: all).
EXPECTED_SORTS: dict[str, tuple[str, int | None]] = {
    "0": ("rise_rate", 1),
    "1": ("rise", 1),
    "2": ("flat", 0),
    "3": ("fall_rate", -1),
    "4": ("fall", -1),
    "5": ("volume", None),
    "6": ("value", None),
}


def _auction(view: MarketView, params: Params, session: dt.date) -> list[Any]:
    params.choice("fid_cond_mrkt_div_code", ("J",))
    params.choice("fid_div_cls_code", ("0", "1", "2"))
    params.choice("fid_blng_cls_code", ("0",))
    _, side = EXPECTED_SORTS[params.require("fid_rank_sort_cls_code", 2)]
    if params.choice("fid_mkop_cls_code", ("0", "1")) == "0":
        return []
    seed = view.market.config.seed
    market = params.require("fid_input_iscd", 12)
    # One minute-bar path per name, shared by every ordering of the session.
    auctions = view.memo(
        ("closing_auctions", session),
        lambda: {
            listing.symbol: closing_auction(seed, listing.symbol, bar)
            for listing, bar in _names(view, session)
        },
    )
    out = []
    for listing, bar in _names(view, session, market):
        change = bar.close - bar.prev_close
        if side is not None and (change > 0) - (change < 0) != side:
            continue
        auction = auctions.get(listing.symbol)
        volume, value = (auction.volume, auction.value) if auction is not None else (0, 0)
        best_ask, best_bid, total_ask, total_bid = resting_quantities(
            listing.symbol, session, bar.volume
        )
        quote = _quote(listing, bar)
        del quote["acml_vol"]  # the screen sends what the auction executed, not the day's
        row = {
            "stck_shrn_iscd": listing.symbol,
            **quote,
            "stck_sdpr": num(bar.prev_close),
            **_best_prices(bar),
            "seln_rsqn": num(best_ask),
            "shnu_rsqn": num(best_bid),
            "total_askp_rsqn": num(total_ask),
            "total_bidp_rsqn": num(total_bid),
            "cntg_vol": num(volume),
            "antc_tr_pbmn": num(value),
        }
        change_rate = round(change / bar.prev_close * 100.0, 2) if bar.prev_close else 0.0
        keys = {
            "rise_rate": change_rate,
            "rise": float(change),
            "flat": 0.0,
            "fall_rate": -change_rate,
            "fall": float(-change),
            "volume": float(volume),
            "value": float(value),
        }
        out.append((listing.symbol, row, keys))
    return out


_FID_OPEN = (
    "fid_trgt_cls_code",
    "fid_trgt_exls_cls_code",
    "fid_cond_scr_div_code",
    "fid_div_cls_code",
    "fid_input_price_1",
    "fid_input_price_2",
    "fid_vol_cnt",
)
_ANNUAL = (*_FID_OPEN, "fid_blng_cls_code")

VALUATION_SCREEN = Screen(
    "/uapi/domestic-stock/v1/ranking/market-value",
    "FHPST01790000",
    _ANNUAL,
    _accounts(_valuation),
    "fid_rank_sort_cls_code",
    {
        "23": "per",
        "24": "pbr",
        "26": "psr",
        "27": "eps",
        "28": "eva",
        "29": "ebitda",
        "30": "pv_div_ebitda",
    },
)
FINANCE_RATIO_SCREEN = Screen(
    "/uapi/domestic-stock/v1/ranking/finance-ratio",
    "FHPST01750000",
    _ANNUAL,
    _accounts(_finance_ratios),
    "fid_rank_sort_cls_code",
    {"7": "cptl_ntin_rate", "11": "bis", "15": "grs", "20": "cptl_tnrt"},
)
PROFIT_ASSET_SCREEN = Screen(
    "/uapi/domestic-stock/v1/ranking/profit-asset-index",
    "FHPST01730000",
    _ANNUAL,
    _accounts(_profits_and_assets),
    "fid_rank_sort_cls_code",
    {str(code): name for code, name in enumerate(PROFIT_ASSET_FIELDS)},
)
QUOTE_BALANCE_SCREEN = Screen(
    "/uapi/domestic-stock/v1/ranking/quote-balance",
    "FHPST01720000",
    _FID_OPEN,
    _resting,
    "fid_rank_sort_cls_code",
    {"0": "net_bid", "1": "net_ask", "2": "bid_ratio", "3": "ask_ratio"},
)
DISPARITY_SCREEN = Screen(
    "/uapi/domestic-stock/v1/ranking/disparity",
    "FHPST01780000",
    _FID_OPEN,
    _disparity,
    "fid_rank_sort_cls_code",
    {"0": "above", "1": "below"},
)
STRENGTH_SCREEN = Screen(
    "/uapi/domestic-stock/v1/ranking/volume-power",
    "FHPST01680000",
    _FID_OPEN,
    _strength,
    key="tday_rltv",
)
DIVIDEND_SCREEN = Screen(
    "/uapi/domestic-stock/v1/ranking/dividend-rate",
    "HHKDB13470100",
    (),
    _dividend_rates,
    key="divi_rate",
    rank_field="rank",
    container="output1",
)
SHORT_SALE_SCREEN = Screen(
    "/uapi/domestic-stock/v1/ranking/short-sale",
    "FHPST04820000",
    (
        "FID_APLY_RANG_VOL",
        "FID_COND_SCR_DIV_CODE",
        "FID_TRGT_EXLS_CLS_CODE",
        "FID_TRGT_CLS_CODE",
        "FID_APLY_RANG_PRC_1",
        "FID_APLY_RANG_PRC_2",
    ),
    _short_sales,
    key="short_value",
    rank_field=None,
)
CREDIT_SCREEN = Screen(
    "/uapi/domestic-stock/v1/ranking/credit-balance",
    "FHKST17010000",
    ("FID_COND_SCR_DIV_CODE",),
    _credit,
    "FID_RANK_SORT_CLS_CODE",
    CREDIT_SORTS,
    rank_field=None,
    container="output2",
)
NEAR_SCREEN = Screen(
    "/uapi/domestic-stock/v1/ranking/near-new-highlow",
    "FHPST01870000",
    (
        "fid_aply_rang_vol",
        "fid_cond_scr_div_code",
        "fid_div_cls_code",
        "fid_trgt_cls_code",
        "fid_trgt_exls_cls_code",
        "fid_aply_rang_prc_1",
        "fid_aply_rang_prc_2",
    ),
    _near,
    "fid_prc_cls_code",
    {"0": "gap", "1": "gap"},
    rank_field=None,
    nearest_first=True,
)

BLOCK_TRADE_SCREEN = Screen(
    "/uapi/domestic-stock/v1/ranking/bulk-trans-num",
    "FHKST190900C0",
    (
        "fid_aply_rang_prc_1",
        "fid_aply_rang_prc_2",
        "fid_cond_scr_div_code",
        "fid_trgt_exls_cls_code",
        "fid_trgt_cls_code",
        "fid_vol_cnt",
    ),
    _blocks,
    "fid_rank_sort_cls_code",
    {"0": "buy", "1": "sell"},
)
WATCHLIST_SCREEN = Screen(
    "/uapi/domestic-stock/v1/ranking/top-interest-stock",
    "FHPST01800000",
    _FID_OPEN,
    _watchlist,
    key="registrations",
    start_param="fid_input_cnt_1",
)
EXPECTED_SCREEN = Screen(
    "/uapi/domestic-stock/v1/ranking/exp-trans-updown",
    "FHPST01820000",
    ("fid_cond_scr_div_code", "fid_aply_rang_prc_1", "fid_vol_cnt", "fid_pbmn"),
    _auction,
    "fid_rank_sort_cls_code",
    {code: key for code, (key, _) in EXPECTED_SORTS.items()},
    rank_field=None,
)

ENDPOINTS = tuple(
    Endpoint(s.path, s.tr_id, s.handle)
    for s in (
        VALUATION_SCREEN,
        FINANCE_RATIO_SCREEN,
        PROFIT_ASSET_SCREEN,
        QUOTE_BALANCE_SCREEN,
        STRENGTH_SCREEN,
        DISPARITY_SCREEN,
        DIVIDEND_SCREEN,
        SHORT_SALE_SCREEN,
        CREDIT_SCREEN,
        NEAR_SCREEN,
        BLOCK_TRADE_SCREEN,
        WATCHLIST_SCREEN,
        EXPECTED_SCREEN,
    )
)
