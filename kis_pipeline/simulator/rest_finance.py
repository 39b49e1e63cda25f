"""Stock information: balance sheet (SPEC §10.1), income statement (§10.2), financial ratios
(§10.3), the profitability, other major, stability and growth ratios (§10.4-§10.7, computed
from the same books: `derived_ratios`) and the KSD dividend schedule (§10.8).

Financial endpoints return every period published by today for the requested kind
(`FID_DIV_CLS_CODE` 0 annual, 1 quarterly, year-to-date), newest first, amounts in KRW 100
million with two decimals; fields KIS never fills come back as "99.99" (from the market).

The dividend schedule has no paging (`CTS` is sent blank) and no row cap here: the caller
splits long date ranges (§10.8). Rows are ordered by record date, then code. Fixed-width
quirks of the portal example are kept: `face_val` 9 and `per_sto_divi_amt` 12 zero-padded
digits, rates right-aligned in 6 characters, payment dates as `YYYY/MM/DD` or blank while
unknown, `high_divi_gb` "Y" or blank. `GB1` 1 = year-end (결산) only, 2 = the others
(interim and quarterly). An `SHT_CD` outside the universe is MCA05918.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from kis_pipeline.simulator.rest_common import (
    Endpoint,
    Params,
    Reply,
    dec,
    ok,
    unknown_symbol,
    ymd,
)
from kis_pipeline.simulator.rest_market import MarketView

BALANCE_FIELDS = (
    "cras",
    "fxas",
    "total_aset",
    "flow_lblt",
    "fix_lblt",
    "total_lblt",
    "cpfn",
    "cfp_surp",
    "prfi_surp",
    "total_cptl",
)
INCOME_FIELDS = (
    "sale_account",
    "sale_cost",
    "sale_totl_prfi",
    "depr_cost",
    "sell_mang",
    "bsop_prti",
    "bsop_non_ernn",
    "bsop_non_expn",
    "op_prfi",
    "spec_prfi",
    "spec_loss",
    "thtr_ntin",
)
RATIO_FIELDS = (
    "grs",
    "bsop_prfi_inrt",
    "ntin_inrt",
    "roe_val",
    "eps",
    "sps",
    "bps",
    "rsrv_rate",
    "lblt_rate",
)
NOT_POPULATED = 99.99  # what KIS sends for the statement lines it does not fill
PERIOD_KINDS = {"0": "annual", "1": "quarter"}


# KIS flags §10.5's payout ratio as abnormal output; the simulator sends a value to match.
ABNORMAL_PAYOUT = -99999.99


def _pct(part: float, whole: float) -> float:
    return round(part / whole * 100.0, 2) if whole > 0 else 0.0


def derived_ratios(period: Any, prior: Any | None) -> dict[str, float]:
    """The §10.4-§10.7 fields of a period, from its balance sheet and income statement and
    those of the same period a year before (`prior`, None before the history)."""
    b, i, r = period.balance, period.income, period.ratios
    net, revenue = i["thtr_ntin"], i["sale_account"]
    assets, equity = b["total_aset"], b["total_cptl"]
    ebitda = round(i["bsop_prti"] * 1.18, 2)
    before = prior.balance if prior is not None else None
    return {
        "cptl_ntin_rate": _pct(net, assets),
        "self_cptl_ntin_inrt": _pct(net, equity),
        "sale_ntin_rate": _pct(net, revenue),
        "sale_totl_rate": _pct(i["sale_totl_prfi"], revenue),
        "payout_rate": ABNORMAL_PAYOUT,
        "eva": round(i["bsop_prti"] * 0.78 - equity * 0.02, 2),
        "ebitda": ebitda,
        "ev_ebitda": round((b["total_lblt"] + equity) / ebitda, 2) if ebitda > 0 else 0.0,
        "lblt_rate": r["lblt_rate"],
        "bram_depn": _pct(b["fix_lblt"], assets),
        "crnt_rate": _pct(b["cras"], b["flow_lblt"]),
        "quck_rate": _pct(b["cras"] * 0.8, b["flow_lblt"]),
        "grs": r["grs"],
        "bsop_prfi_inrt": r["bsop_prfi_inrt"],
        "equt_inrt": _pct(equity - before["total_cptl"], before["total_cptl"]) if before else 0.0,
        "totl_aset_inrt": _pct(assets - before["total_aset"], before["total_aset"])
        if before
        else 0.0,
    }


def _statement(section: str, fields: tuple[str, ...]) -> Callable[[MarketView, Params, str], Reply]:
    """A statement endpoint: `section` names the period's dict of fields (`derived`: those of
    `derived_ratios`)."""

    def handler(view: MarketView, params: Params, tr_cont: str) -> Reply:
        kind = PERIOD_KINDS[params.choice("FID_DIV_CLS_CODE", tuple(PERIOD_KINDS))]
        params.choice("fid_cond_mrkt_div_code", ("J",))
        symbol = params.require("fid_input_iscd", 12)
        if view.listing(symbol) is None:
            raise unknown_symbol()
        periods = [p for p in view.market.financials(symbol) if p.period_type == kind]
        by_period = {p.period: p for p in periods}
        rows = []
        for period in periods:
            if section == "derived":
                prior = by_period.get(f"{int(period.period[:4]) - 1}{period.period[4:]}")
                values = derived_ratios(period, prior)
            else:
                values = getattr(period, section)
            row = {"stac_yymm": period.period}
            row.update({name: dec(values.get(name, NOT_POPULATED)) for name in fields})
            rows.append(row)
        return Reply(ok(output=rows))

    return handler


# §10.4-§10.7: (path name, TR_ID, fields).
DERIVED_ENDPOINTS = (
    (
        "profit-ratio",
        "FHKST66430400",
        ("cptl_ntin_rate", "self_cptl_ntin_inrt", "sale_ntin_rate", "sale_totl_rate"),
    ),
    ("other-major-ratios", "FHKST66430500", ("payout_rate", "eva", "ebitda", "ev_ebitda")),
    ("stability-ratio", "FHKST66430600", ("lblt_rate", "bram_depn", "crnt_rate", "quck_rate")),
    ("growth-ratio", "FHKST66430800", ("grs", "bsop_prfi_inrt", "equt_inrt", "totl_aset_inrt")),
)


# ---- §10.8 ksdinfo/dividend --------------------------------------------------------------


def dividend_schedule(view: MarketView, params: Params, tr_cont: str) -> Reply:
    params.require("CTS", 17)
    kind = params.choice("GB1", ("0", "1", "2"), 1)
    start = params.date("F_DT", max_len=8)
    end = params.date("T_DT", max_len=8)
    symbol = params.require("SHT_CD", 9)
    params.require("HIGH_GB", 1)
    if symbol and view.listing(symbol) is None:
        raise unknown_symbol()
    rows = []
    if start <= end:
        for div in _dividends(view, symbol):
            if not start <= div.record_date <= end:
                continue
            if (kind == "1" and div.kind != "결산") or (kind == "2" and div.kind == "결산"):
                continue
            rows.append(_dividend_row(view, div))
    return Reply(ok(output1=rows))


def _dividends(view: MarketView, symbol: str) -> list[Any]:
    if symbol:
        return view.market.dividends(symbol)

    def everything() -> list[Any]:
        out = [d for listing in view.market.listings for d in view.market.dividends(listing.symbol)]
        return sorted(out, key=lambda d: (d.record_date, d.symbol))

    return view.memo(("all_dividends", view.session(), view.market.today()), everything)


def _slashed(day: dt.date | None) -> str:
    return day.strftime("%Y/%m/%d") if day is not None else ""


def _dividend_row(view: MarketView, div: Any) -> dict[str, str]:
    listing = view.listing(div.symbol)
    return {
        "record_date": ymd(div.record_date),
        "sht_cd": div.symbol,
        "isin_name": listing.name if listing is not None else "",
        "divi_kind": div.kind,
        "face_val": f"{div.face_value:09d}",
        "per_sto_divi_amt": f"{div.dividend_per_share:012d}",
        "divi_rate": f"{div.cash_rate:6.2f}",
        "stk_divi_rate": f"{div.stock_rate:6.2f}",
        "divi_pay_dt": _slashed(div.pay_date),
        "stk_div_pay_dt": "",
        "odd_pay_dt": "",
        "stk_kind": div.stock_kind,
        "high_divi_gb": "Y" if div.high_dividend else "",
    }


ENDPOINTS = (
    Endpoint(
        "/uapi/domestic-stock/v1/finance/balance-sheet",
        "FHKST66430100",
        _statement("balance", BALANCE_FIELDS),
    ),
    Endpoint(
        "/uapi/domestic-stock/v1/finance/income-statement",
        "FHKST66430200",
        _statement("income", INCOME_FIELDS),
    ),
    Endpoint(
        "/uapi/domestic-stock/v1/finance/financial-ratio",
        "FHKST66430300",
        _statement("ratios", RATIO_FIELDS),
    ),
    *(
        Endpoint(f"/uapi/domestic-stock/v1/finance/{name}", tr_id, _statement("derived", fields))
        for name, tr_id, fields in DERIVED_ENDPOINTS
    ),
    Endpoint("/uapi/domestic-stock/v1/ksdinfo/dividend", "HHKDB669102C0", dividend_schedule),
)
