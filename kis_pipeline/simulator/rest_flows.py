"""Investor flows: per stock per day (SPEC §9.3, FHPTJ04160001) and per market per day
(§9.1, FHPTJ04040000).

Both return up to 30 trading days ending at `FID_INPUT_DATE_1`, newest first; older days are
fetched by moving that date back. Units: §9.3 quantities in shares and amounts in KRW million
(as SPEC states); §9.1 quantities in thousand shares and amounts in KRW million (the
magnitudes of the portal example; SPEC names no unit). The market model has four investor
groups; the institution total is split into KIS's sub-groups (securities, investment trust,
private fund, bank, insurance, merchant bank, pension fund) by fixed weights, the foreign
total into registered/unregistered, and "other" is the other-corporation group.
"""

from __future__ import annotations

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
    unknown_symbol,
    ymd,
)
from kis_pipeline.simulator.rest_market import MARKET_BY_FLOW_CODE, MarketView
from kis_pipeline.simulator.rest_quotes import change_fields, stock_market_code

FLOW_ROWS = 30
INSTITUTION_PARTS = (
    ("scrt", 0.18),
    ("ivtr", 0.14),
    ("pe_fund", 0.10),
    ("bank", 0.04),
    ("insu", 0.10),
    ("mrbn", 0.02),
    ("fund", 0.42),
)
FOREIGN_REGISTERED_SHARE = 0.97


def split_int(total: int, weights: list[float]) -> list[int]:
    """`total` split by `weights` into integers that sum to it exactly."""
    raw = [total * w for w in weights]
    parts = [int(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - parts[i], reverse=True)
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _side_totals(flow: Any, side: str, scale_qty: int, scale_amt: int) -> dict[str, int]:
    """Buy or sell totals per KIS investor code, quantities and amounts in output units."""
    out: dict[str, int] = {}
    groups = {
        "prsn": "individual",
        "frgn": "foreign",
        "orgn": "institution",
        "etc_corp": "other_corp",
    }
    for code, group in groups.items():
        out[f"{code}_qty"] = round(getattr(flow, f"{group}_{side}_volume") / scale_qty)
        out[f"{code}_amt"] = round(getattr(flow, f"{group}_{side}_value") / scale_amt)
    weights = [w for _, w in INSTITUTION_PARTS]
    for kind in ("qty", "amt"):
        for (code, _), part in zip(
            INSTITUTION_PARTS, split_int(out[f"orgn_{kind}"], weights), strict=True
        ):
            out[f"{code}_{kind}"] = part
        registered = round(out[f"frgn_{kind}"] * FOREIGN_REGISTERED_SHARE)
        out[f"frgn_reg_{kind}"] = registered
        out[f"frgn_nreg_{kind}"] = out[f"frgn_{kind}"] - registered
        out[f"etc_orgt_{kind}"] = 0
        out[f"etc_{kind}"] = out[f"etc_corp_{kind}"]
    return out


def net_fields(flow: Any, *, scale_qty: int, scale_amt: int) -> dict[str, str]:
    """The `*_ntby_*` fields shared by §9.1 and §9.3 (net = buy - sell per investor code)."""
    buy = _side_totals(flow, "buy", scale_qty, scale_amt)
    sell = _side_totals(flow, "sell", scale_qty, scale_amt)

    def net(key: str) -> str:
        return num(buy[key] - sell[key])

    return {
        "frgn_ntby_qty": net("frgn_qty"),
        "frgn_reg_ntby_qty": net("frgn_reg_qty"),
        "frgn_nreg_ntby_qty": net("frgn_nreg_qty"),
        "prsn_ntby_qty": net("prsn_qty"),
        "orgn_ntby_qty": net("orgn_qty"),
        "scrt_ntby_qty": net("scrt_qty"),
        "ivtr_ntby_qty": net("ivtr_qty"),
        "pe_fund_ntby_vol": net("pe_fund_qty"),
        "bank_ntby_qty": net("bank_qty"),
        "insu_ntby_qty": net("insu_qty"),
        "mrbn_ntby_qty": net("mrbn_qty"),
        "fund_ntby_qty": net("fund_qty"),
        "etc_ntby_qty": net("etc_qty"),
        "etc_orgt_ntby_vol": net("etc_orgt_qty"),
        "etc_corp_ntby_vol": net("etc_corp_qty"),
        "frgn_ntby_tr_pbmn": net("frgn_amt"),
        "frgn_reg_ntby_pbmn": net("frgn_reg_amt"),
        "frgn_nreg_ntby_pbmn": net("frgn_nreg_amt"),
        "prsn_ntby_tr_pbmn": net("prsn_amt"),
        "orgn_ntby_tr_pbmn": net("orgn_amt"),
        "scrt_ntby_tr_pbmn": net("scrt_amt"),
        "ivtr_ntby_tr_pbmn": net("ivtr_amt"),
        "pe_fund_ntby_tr_pbmn": net("pe_fund_amt"),
        "bank_ntby_tr_pbmn": net("bank_amt"),
        "insu_ntby_tr_pbmn": net("insu_amt"),
        "mrbn_ntby_tr_pbmn": net("mrbn_amt"),
        "fund_ntby_tr_pbmn": net("fund_amt"),
        "etc_ntby_tr_pbmn": net("etc_amt"),
        "etc_orgt_ntby_tr_pbmn": net("etc_orgt_amt"),
        "etc_corp_ntby_tr_pbmn": net("etc_corp_amt"),
    }


def gross_fields(flow: Any) -> dict[str, str]:
    """§9.3's per-investor sell/buy volumes (shares) and values (KRW million)."""
    buy = _side_totals(flow, "buy", 1, 1_000_000)
    sell = _side_totals(flow, "sell", 1, 1_000_000)
    out: dict[str, str] = {}
    for code in (
        "frgn",
        "prsn",
        "orgn",
        "scrt",
        "ivtr",
        "pe_fund",
        "bank",
        "insu",
        "mrbn",
        "fund",
        "etc",
        "etc_orgt",
        "etc_corp",
    ):
        out[f"{code}_seln_vol"] = num(sell[f"{code}_qty"])
        out[f"{code}_shnu_vol"] = num(buy[f"{code}_qty"])
        out[f"{code}_seln_tr_pbmn"] = num(sell[f"{code}_amt"])
        out[f"{code}_shnu_tr_pbmn"] = num(buy[f"{code}_amt"])
    for reg in ("frgn_reg", "frgn_nreg"):
        out[f"{reg}_askp_qty"] = num(sell[f"{reg}_qty"])
        out[f"{reg}_bidp_qty"] = num(buy[f"{reg}_qty"])
        out[f"{reg}_askp_pbmn"] = num(sell[f"{reg}_amt"])
        out[f"{reg}_bidp_pbmn"] = num(buy[f"{reg}_amt"])
    return out


# ---- §9.3 investor-trade-by-stock-daily ----------------------------------------------------


def stock_flows(view: MarketView, params: Params, tr_cont: str) -> Reply:
    stock_market_code(params)
    symbol = params.require("FID_INPUT_ISCD", 12)
    end = params.date("FID_INPUT_DATE_1")
    params.require("FID_ORG_ADJ_PRC", 2)
    params.require("FID_ETC_CLS_CODE", 2)
    listing = view.listing(symbol)
    if listing is None:
        raise unknown_symbol()
    rows = []
    for day in view.sessions_until(end, FLOW_ROWS):
        bar = view.bar(symbol, day)
        flow = view.market.investor_flow(symbol, day)
        if bar is None or flow is None:
            continue
        change, change_sign, change_rate = change_fields(bar.close, bar.prev_close)
        rows.append(
            {
                "stck_bsop_date": ymd(day),
                "stck_clpr": num(bar.close),
                "prdy_vrss": change,
                "prdy_vrss_sign": change_sign,
                "prdy_ctrt": change_rate,
                "acml_vol": num(bar.volume),
                "acml_tr_pbmn": num(bar.value),
                "stck_oprc": num(bar.open),
                "stck_hgpr": num(bar.high),
                "stck_lwpr": num(bar.low),
                **net_fields(flow, scale_qty=1, scale_amt=1_000_000),
                **gross_fields(flow),
                "bold_yn": "N",
            }
        )
    return Reply(ok(output1=_stock_summary(view, listing), output2=rows))


def _stock_summary(view: MarketView, listing: Any) -> dict[str, str]:
    day = view.session()
    snap = view.day_snap(listing.symbol, day)
    if snap is None:
        return {
            "stck_prpr": "",
            "prdy_vrss": "",
            "prdy_vrss_sign": "",
            "prdy_ctrt": "",
            "acml_vol": "",
            "prdy_vol": "",
            "rprs_mrkt_kor_name": view.representative_market(listing),
        }
    bar = snap.bar
    change, change_sign, change_rate = change_fields(bar.close, bar.prev_close)
    return {
        "stck_prpr": num(bar.close),
        "prdy_vrss": change,
        "prdy_vrss_sign": change_sign,
        "prdy_ctrt": change_rate,
        "acml_vol": num(bar.volume),
        "prdy_vol": num(snap.prev.volume if snap.prev is not None else 0),
        "rprs_mrkt_kor_name": view.representative_market(listing),
    }


# ---- §9.1 inquire-investor-daily-by-market -------------------------------------------------


def market_flows(view: MarketView, params: Params, tr_cont: str) -> Reply:
    params.choice("FID_COND_MRKT_DIV_CODE", ("U",))
    code = params.require("FID_INPUT_ISCD", 12)
    end = params.date("FID_INPUT_DATE_1")
    market_code = params.require("FID_INPUT_ISCD_1", 12)
    params.date("FID_INPUT_DATE_2")
    params.require("FID_INPUT_ISCD_2", 10)
    market = MARKET_BY_FLOW_CODE.get(market_code)
    if market is None:
        raise invalid_param("FID_INPUT_ISCD_1")
    if not view.is_index(code):
        raise unknown_symbol()
    days = view.sessions_until(end, FLOW_ROWS)
    if not days:
        return Reply(ok(output=[]))
    bars = {b.date: b for b in view.index_bars(code, days[-1], days[0])}
    rows = []
    for day in days:
        bar = bars.get(day)
        flow = view.market.market_investor_flow(market, day)
        if bar is None or flow is None:
            continue
        change = bar.close - bar.prev_close
        rows.append(
            {
                "stck_bsop_date": ymd(day),
                "bstp_nmix_prpr": dec(bar.close),
                "bstp_nmix_prdy_vrss": dec(change),
                "prdy_vrss_sign": sign(round(change, 2)),
                "bstp_nmix_prdy_ctrt": rate(change, bar.prev_close),
                "bstp_nmix_oprc": dec(bar.open),
                "bstp_nmix_hgpr": dec(bar.high),
                "bstp_nmix_lwpr": dec(bar.low),
                "stck_prdy_clpr": dec(bar.prev_close),
                **net_fields(flow, scale_qty=1000, scale_amt=1_000_000),
            }
        )
    return Reply(ok(output=rows))


ENDPOINTS = (
    Endpoint(
        "/uapi/domestic-stock/v1/quotations/investor-trade-by-stock-daily",
        "FHPTJ04160001",
        stock_flows,
    ),
    Endpoint(
        "/uapi/domestic-stock/v1/quotations/inquire-investor-daily-by-market",
        "FHPTJ04040000",
        market_flows,
    ),
)
