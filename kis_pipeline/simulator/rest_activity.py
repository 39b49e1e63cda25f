"""Daily trends (SPEC §9.6, §9.8-§9.12): program trading per stock and per market, credit
balance, short sales, securities lending and the volume by side, read off `Market.activity`
and `Market.market_program`.

Each answers one symbol's run of sessions, newest first, in KIS's envelope with every value a
string. Two shapes, as SPEC describes them:
- walked back from a date: program trading answers the 30 sessions up to `FID_INPUT_DATE_1`
  (documented as `00YYYYMMDD`); the credit balance the 30 trades settled by
  `fid_input_date_1` (a settlement date, T+2), padded with blank records to 30 like KIS's
  fixed-size arrays; a market's program trading answers the 30 sessions up to
  `FID_INPUT_DATE_1` (blank: today) and refuses a date more than 8 months back (SPEC §9.8
  says only that an error comes; the shape is the one for a rejected input, `rest_common`);
- a range: short sales, lending, the volume by side and a member firm's trading answer the
  sessions of [from, to], at most 100 (the newest; the documented cap of §9.11 and §9.12,
  chosen for §9.10 and §9.13); a member code the roster lacks is a rejected input.
Units: shares and KRW; rates in percent with two decimals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from kis_pipeline.simulator.market_activity import (
    MEMBERS,
    Activity,
    Balance,
    MarketProgram,
    settlement_date,
)
from kis_pipeline.simulator.rest_common import (
    Endpoint,
    Params,
    Reply,
    blank_row,
    dec,
    invalid_param,
    num,
    ok,
    rate,
    unknown_symbol,
    ymd,
)
from kis_pipeline.simulator.rest_market import MarketView
from kis_pipeline.simulator.rest_quotes import change_fields, stock_market_code

WALK_ROWS = 30
RANGE_ROWS = 100
# One symbol-day: its bar and its activity -> the record's fields.
Record = Callable[[Any, Activity], dict[str, str]]


def _symbol(view: MarketView, params: Params, name: str, *, market: bool = False) -> str:
    """The listed symbol the request names (after its market code, with `market`)."""
    if market:
        stock_market_code(params)
    symbol = params.require(name, 12)
    if view.listing(symbol) is None:
        raise unknown_symbol()
    return symbol


def _records(view: MarketView, symbol: str, days: list[dt.date], record: Record) -> list[dict]:
    rows = []
    for day in days:
        bar = view.bar(symbol, day)
        activity = view.market.activity(symbol, day)
        if bar is not None and activity is not None:
            rows.append(record(bar, activity))
    return rows


def _range(view: MarketView, params: Params, first: str, last: str) -> list[dt.date]:
    """The newest `RANGE_ROWS` sessions of [first, last], newest first; a blank start is the
    beginning of the history."""
    end = params.date(last)
    start = params.date(first, blank=view.first_session())
    days = [d for d in view.sessions_until(end, RANGE_ROWS) if d >= start]
    return days


def _day(
    bar: Any, *, date: str | None = "stck_bsop_date", close: str = "stck_clpr"
) -> dict[str, str]:
    """The fields every trend's record opens with: its date (unless None), and the day's
    close, change and volume."""
    change, change_sign, change_rate = change_fields(bar.close, bar.prev_close)
    dated = {date: ymd(bar.date)} if date else {}
    return {
        **dated,
        close: num(bar.close),
        "prdy_vrss": change,
        "prdy_vrss_sign": change_sign,
        "prdy_ctrt": change_rate,
        "acml_vol": num(bar.volume),
    }


# ---- §9.6 program-trade-by-stock-daily -----------------------------------------------------


def _program(bar: Any, a: Activity) -> dict[str, str]:
    return {
        **_day(bar),
        "acml_tr_pbmn": num(bar.value),
        "whol_smtn_seln_vol": num(a.program_sell_volume),
        "whol_smtn_shnu_vol": num(a.program_buy_volume),
        "whol_smtn_ntby_qty": num(a.program_net_volume),
        "whol_smtn_seln_tr_pbmn": num(a.program_sell_value),
        "whol_smtn_shnu_tr_pbmn": num(a.program_buy_value),
        "whol_smtn_ntby_tr_pbmn": num(a.program_net_value),
    }


def program_trading(view: MarketView, params: Params, tr_cont: str) -> Reply:
    symbol = _symbol(view, params, "FID_INPUT_ISCD", market=True)
    end = params.date("FID_INPUT_DATE_1", blank=view.session())
    # One more session than is answered: the oldest row's change needs the day before it.
    days = view.sessions_until(end, WALK_ROWS + 1)
    rows = _records(view, symbol, days, _program)
    for row, older in zip(rows, [*rows[1:], None], strict=True):
        previous = older or {"whol_smtn_ntby_qty": "0", "whol_smtn_ntby_tr_pbmn": "0"}
        for field, kis in (("qty", "whol_ntby_vol_icdc"), ("tr_pbmn", "whol_ntby_tr_pbmn_icdc2")):
            net = f"whol_smtn_ntby_{field}"
            row[kis] = num(int(row[net]) - int(previous[net]))
    return Reply(ok(output=rows[:WALK_ROWS]))


# ---- §9.8 comp-program-trade-daily --------------------------------------------------------

PROGRAM_MARKETS = {"K": "KOSPI", "Q": "KOSDAQ"}
KEPT_MONTHS = 8
# Our figure names -> KIS's, per part (`arbt` arbitrage, `nabt` non-arbitrage, `whol` all).
_PROGRAM_FIGURES = {
    "buy_volume": "smtn_shnu_vol",
    "sell_volume": "smtn_seln_vol",
    "buy_value": "smtn_shnu_tr_pbmn",
    "sell_value": "smtn_seln_tr_pbmn",
}


def _months_before(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(year, month + 1, min(day.day, 28))


def _market_program(p: MarketProgram) -> dict[str, str]:
    row = {"stck_bsop_date": ymd(p.date)}
    for part, figures in (("arbt", p.arbitrage), ("nabt", p.non_arbitrage), ("whol", p.total)):
        row |= {f"{part}_{kis}": num(figures[name]) for name, kis in _PROGRAM_FIGURES.items()}
        if part != "whol":
            for kind, kis in (("volume", "qty"), ("value", "tr_pbmn")):
                net = figures[f"buy_{kind}"] - figures[f"sell_{kind}"]
                row[f"{part}_smtn_ntby_{kis}"] = num(net)
    return row


def market_program_trading(view: MarketView, params: Params, tr_cont: str) -> Reply:
    stock_market_code(params)
    market = PROGRAM_MARKETS[params.choice("FID_MRKT_CLS_CODE", tuple(PROGRAM_MARKETS))]
    end = params.date("FID_INPUT_DATE_1", blank=view.session())
    params.require("FID_INPUT_DATE_2", 10)
    if end < _months_before(view.market.today(), KEPT_MONTHS):
        raise invalid_param("FID_INPUT_DATE_1")
    programs = (view.market.market_program(market, d) for d in view.sessions_until(end, WALK_ROWS))
    return Reply(ok(output=[_market_program(p) for p in programs if p is not None]))


# ---- §9.9 daily-credit-balance -------------------------------------------------------------

CREDIT_FIELDS = [
    "deal_date",
    "stck_prpr",
    "prdy_vrss_sign",
    "prdy_vrss",
    "prdy_ctrt",
    "acml_vol",
    "stlm_date",
    "whol_loan_new_stcn",
    "whol_loan_rdmp_stcn",
    "whol_loan_rmnd_stcn",
    "whol_loan_new_amt",
    "whol_loan_rdmp_amt",
    "whol_loan_rmnd_amt",
    "whol_loan_rmnd_rate",
    "whol_loan_gvrt",
    "whol_stln_new_stcn",
    "whol_stln_rdmp_stcn",
    "whol_stln_rmnd_stcn",
    "whol_stln_new_amt",
    "whol_stln_rdmp_amt",
    "whol_stln_rmnd_amt",
    "whol_stln_rmnd_rate",
    "whol_stln_gvrt",
    "stck_oprc",
    "stck_hgpr",
    "stck_lwpr",
]


def _credit_side(prefix: str, side: Balance, bar: Any, shares: int) -> dict[str, str]:
    return {
        f"{prefix}_new_stcn": num(side.new),
        f"{prefix}_rdmp_stcn": num(side.repaid),
        f"{prefix}_rmnd_stcn": num(side.balance),
        f"{prefix}_new_amt": num(side.new * bar.close),
        f"{prefix}_rdmp_amt": num(side.repaid * bar.close),
        f"{prefix}_rmnd_amt": num(side.balance * bar.close),
        f"{prefix}_rmnd_rate": dec(side.balance / shares * 100 if shares else 0.0, 4),
        f"{prefix}_gvrt": rate(side.new, bar.volume),
    }


def credit_balance(view: MarketView, params: Params, tr_cont: str) -> Reply:
    params.choice("fid_cond_scr_div_code", ("20476",), max_len=5)
    symbol = _symbol(view, params, "fid_input_iscd", market=True)
    settled_by = params.date("fid_input_date_1")
    market = view.market
    # Trades of the last few sessions settle after `settled_by`: look a few further back.
    days = [
        d
        for d in view.sessions_until(settled_by, WALK_ROWS + 3)
        if settlement_date(d) <= settled_by
    ][:WALK_ROWS]

    def record(bar: Any, a: Activity) -> dict[str, str]:
        shares = market.listed_shares(a.symbol, a.date)
        return {
            **_day(bar, date="deal_date", close="stck_prpr"),
            "stlm_date": ymd(settlement_date(a.date)),
            **_credit_side("whol_loan", a.loan, bar, shares),
            **_credit_side("whol_stln", a.stock_loan, bar, shares),
            "stck_oprc": num(bar.open),
            "stck_hgpr": num(bar.high),
            "stck_lwpr": num(bar.low),
        }

    rows = _records(view, symbol, days, record)
    rows += [blank_row(CREDIT_FIELDS)] * (WALK_ROWS - len(rows))
    return Reply(ok(output=rows))


# ---- §9.10 daily-short-sale ----------------------------------------------------------------


def _short(bar: Any, a: Activity) -> dict[str, str]:
    return {
        **_day(bar),
        "stnd_vol_smtn": num(bar.volume),
        "ssts_cntg_qty": num(a.short_volume),
        "ssts_vol_rlim": rate(a.short_volume, bar.volume),
        "acml_tr_pbmn": num(bar.value),
        "stnd_tr_pbmn_smtn": num(bar.value),
        "ssts_tr_pbmn": num(a.short_value),
        "ssts_tr_pbmn_rlim": rate(a.short_value, bar.value),
        "stck_oprc": num(bar.open),
        "stck_hgpr": num(bar.high),
        "stck_lwpr": num(bar.low),
        "avrg_prc": num(bar.value // bar.volume if bar.volume else 0),
    }


def short_sales(view: MarketView, params: Params, tr_cont: str) -> Reply:
    params.choice("FID_COND_MRKT_DIV_CODE", ("J",))
    symbol = _symbol(view, params, "FID_INPUT_ISCD")
    rows = _records(
        view, symbol, _range(view, params, "FID_INPUT_DATE_1", "FID_INPUT_DATE_2"), _short
    )
    # KIS's cumulative columns add up from the oldest day of the answer.
    volume = value = 0
    for row in reversed(rows):
        volume += int(row["ssts_cntg_qty"])
        value += int(row["ssts_tr_pbmn"])
        row["acml_ssts_cntg_qty"] = num(volume)
        row["acml_ssts_tr_pbmn"] = num(value)
    bar = view.bar(symbol, view.session())
    summary = blank_row(("stck_prpr", "prdy_vrss", "prdy_vrss_sign", "prdy_ctrt", "acml_vol"))
    if bar is not None:
        summary = _day(bar, date=None, close="stck_prpr")
    return Reply(ok(output1=summary, output2=rows))


# ---- §9.11 daily-loan-trans ----------------------------------------------------------------


def _lending(bar: Any, a: Activity) -> dict[str, str]:
    side = a.lending
    return {
        **_day(bar, date="bsop_date", close="stck_prpr"),
        "new_stcn": num(side.new),
        "rdmp_stcn": num(side.repaid),
        "prdy_rmnd_vrss": num(side.new - side.repaid),
        "rmnd_stcn": num(side.balance),
        "rmnd_amt": num(side.balance * bar.close),
    }


def lending_balance(view: MarketView, params: Params, tr_cont: str) -> Reply:
    params.choice("MRKT_DIV_CLS_CODE", ("1", "2", "3"), max_len=1)
    symbol = _symbol(view, params, "MKSC_SHRN_ISCD")
    params.require("CTS", 8)
    days = _range(view, params, "START_DATE", "END_DATE")
    return Reply(ok(output1=_records(view, symbol, days, _lending)))


# ---- §9.12 inquire-daily-trade-volume ------------------------------------------------------


def _sides(bar: Any, a: Activity) -> dict[str, str]:
    return {
        "stck_bsop_date": ymd(a.date),
        "total_seln_qty": num(a.seller_volume),
        "total_shnu_qty": num(a.buyer_volume),
    }


def trade_volume(view: MarketView, params: Params, tr_cont: str) -> Reply:
    params.choice("FID_PERIOD_DIV_CODE", ("D",), max_len=32)
    symbol = _symbol(view, params, "FID_INPUT_ISCD", market=True)
    rows = _records(
        view, symbol, _range(view, params, "FID_INPUT_DATE_1", "FID_INPUT_DATE_2"), _sides
    )
    totals = {
        "shnu_cnqn_smtn": num(sum(int(r["total_shnu_qty"]) for r in rows)),
        "seln_cnqn_smtn": num(sum(int(r["total_seln_qty"]) for r in rows)),
    }
    return Reply(ok(output1=totals, output2=rows))


# ---- §9.13 inquire-member-daily ------------------------------------------------------------


def member_daily(view: MarketView, params: Params, tr_cont: str) -> Reply:
    symbol = _symbol(view, params, "FID_INPUT_ISCD", market=True)
    member = params.choice("FID_INPUT_ISCD_2", MEMBERS, max_len=8)
    params.require("FID_SCTN_CLS_CODE", 2)

    def record(bar: Any, a: Activity) -> dict[str, str]:
        bought, sold = a.members[member]
        return {
            **_day(bar, close="stck_prpr"),
            "total_seln_qty": num(sold),
            "total_shnu_qty": num(bought),
            "ntby_qty": num(bought - sold),
        }

    days = _range(view, params, "FID_INPUT_DATE_1", "FID_INPUT_DATE_2")
    return Reply(ok(output=_records(view, symbol, days, record)))


QUOTATIONS = "/uapi/domestic-stock/v1/quotations"
ENDPOINTS = tuple(
    Endpoint(f"{QUOTATIONS}/{name}", tr_id, handler)
    for name, tr_id, handler in (
        ("program-trade-by-stock-daily", "FHPPG04650201", program_trading),
        ("comp-program-trade-daily", "FHPPG04600001", market_program_trading),
        ("daily-credit-balance", "FHPST04760000", credit_balance),
        ("daily-short-sale", "FHPST04830000", short_sales),
        ("daily-loan-trans", "HHPST074500C0", lending_balance),
        ("inquire-daily-trade-volume", "FHKST03010800", trade_volume),
        ("inquire-member-daily", "FHPST04540000", member_daily),
    )
)
