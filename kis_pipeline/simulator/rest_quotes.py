"""Snapshot quotes: current price (SPEC §7.1, FHKST01010100), its status-flag variant (§7.2,
FHPST01010000; the flags are `status_flags`'s) and the 30-symbol multi-quote (§7.11,
FHKST11300006).

Both describe the last completed session (after the close a quote is that day's summary).
Quirks reproduced from §7.11: slots `_1`..`_30` are read in order and anything past 30 is
dropped silently; an unknown code (or a stock code sent with market `U`) answers a row of
empty strings instead of failing; index codes with market `U` answer an index row with blank
limit/quote fields and volume/value in thousand shares/KRW million; change and rate are
measured against the base price `inter2_sdpr`, which differs from `inter2_prdy_clpr` on a
split day; no field carries a date. A halted symbol (no bar on the session) reports its last
price with zero open/high/low/volume. Market codes NX and UN answer the venue's figures
(`venues`): a name not traded on NXT answers NX with a row of empty strings. The current
price (§7.1) models KRX only and answers NX and UN with its figures.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kis_pipeline.simulator.market import price_limits, tick_size
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
    sign,
    unknown_symbol,
    ymd,
    yn,
)
from kis_pipeline.simulator.rest_market import (
    INDEX_NAMES_KR,
    MarketView,
    noise,
    resting_quantities,
)
from kis_pipeline.simulator.status_flags import status_flags
from kis_pipeline.simulator.venues import on_venue

STOCK_MARKETS = frozenset({"J", "NX", "UN"})
MULTI_SLOTS = 30

MULTI_FIELDS = (
    "kospi_kosdaq_cls_name",
    "mrkt_trtm_cls_name",
    "hour_cls_code",
    "inter_shrn_iscd",
    "inter_kor_isnm",
    "inter2_prpr",
    "inter2_prdy_vrss",
    "prdy_vrss_sign",
    "prdy_ctrt",
    "acml_vol",
    "inter2_oprc",
    "inter2_hgpr",
    "inter2_lwpr",
    "inter2_llam",
    "inter2_mxpr",
    "inter2_askp",
    "inter2_bidp",
    "seln_rsqn",
    "shnu_rsqn",
    "total_askp_rsqn",
    "total_bidp_rsqn",
    "acml_tr_pbmn",
    "inter2_prdy_clpr",
    "oprc_vrss_hgpr_rate",
    "intr_antc_cntg_vrss",
    "intr_antc_cntg_vrss_sign",
    "intr_antc_cntg_prdy_ctrt",
    "intr_antc_vol",
    "inter2_sdpr",
)


def stock_market_code(params: Params, name: str = "FID_COND_MRKT_DIV_CODE") -> str:
    return params.choice(name, STOCK_MARKETS)


def change_fields(close: int, base: int) -> tuple[str, str, str]:
    """(prdy_vrss, prdy_vrss_sign, prdy_ctrt) of a close against its base price."""
    upper, lower = price_limits(base)
    change = close - base
    return (
        num(change),
        sign(change, upper_limit=close >= upper, lower_limit=close <= lower),
        rate(change, base),
    )


def _vs(price: int, reference: int) -> str:
    return rate(price - reference, reference)


# ---- §7.1 inquire-price --------------------------------------------------------------------


def _asked_stock(view: MarketView, params: Params) -> tuple[Any, dt.date, Any | None, Any]:
    """The stock a quote asks for: its listing, the session, its bar of the session (None if
    it did not trade) and its last bar; KIS's error for a code it does not know."""
    stock_market_code(params)
    symbol = params.require("FID_INPUT_ISCD", 12)
    listing = view.listing(symbol)
    day = view.session()
    bar = view.bar(symbol, day) if listing is not None else None
    last = bar or (view.last_bar(symbol, day) if listing is not None else None)
    if listing is None or last is None:
        raise unknown_symbol()
    return listing, day, bar, last


def inquire_price(view: MarketView, params: Params, tr_cont: str) -> Reply:
    listing, day, bar, last = _asked_stock(view, params)
    stats = view.market.quote_stats(listing.symbol, last.date)
    if stats is None:
        raise unknown_symbol()
    return Reply(ok(output=price_output(view, listing, day, bar, last, stats)))


def price_output(
    view: MarketView, listing: Any, day: dt.date, bar: Any | None, last: Any, stats: Any
) -> dict[str, str]:
    symbol = listing.symbol
    traded = bar is not None
    close, base = last.close, (bar.prev_close if traded else last.close)
    prev_day = view.prev_session(day)
    prev = view.bar(symbol, prev_day) if prev_day is not None else None
    prev_volume = prev.volume if prev is not None else 0
    volume = bar.volume if traded else 0
    value = bar.value if traded else 0
    flow = view.market.investor_flow(symbol, day) if traded else None
    foreign_net = flow.foreign_net_volume if flow is not None else 0
    program_net = (flow.foreign_net_volume + flow.institution_net_volume) // 2 if flow else 0
    piv = prev or last
    pivot = (piv.high + piv.low + piv.close) / 3.0
    spread = piv.high - piv.low
    demark = (piv.high + piv.low + 2 * piv.close) / 2.0
    capital = round(stats.listed_shares * listing.par_value / 1e8)
    change, change_sign, change_rate = change_fields(close, base)
    kospi200 = symbol in view.kospi200()
    flags = status_flags(view.market, symbol, bar, day)
    return {
        "iscd_stat_cls_code": "00" if listing.market == "KONEX" else "55",
        "marg_rate": "20.00" if kospi200 else "40.00",
        "rprs_mrkt_kor_name": view.representative_market(listing),
        "new_hgpr_lwpr_cls_code": "",
        "bstp_kor_isnm": listing.sector,
        "temp_stop_yn": yn(not traded),
        "oprc_rang_cont_yn": "N",
        "clpr_rang_cont_yn": "N",
        "crdt_able_yn": yn(listing.market != "KONEX"),
        "grmn_rate_cls_code": "40",
        "elw_pblc_yn": yn(kospi200),
        "stck_prpr": num(close),
        "prdy_vrss": change,
        "prdy_vrss_sign": change_sign,
        "prdy_ctrt": change_rate,
        "acml_tr_pbmn": num(value),
        "acml_vol": num(volume),
        "prdy_vrss_vol_rate": rate(volume, prev_volume),
        "stck_oprc": num(bar.open if traded else 0),
        "stck_hgpr": num(bar.high if traded else 0),
        "stck_lwpr": num(bar.low if traded else 0),
        "stck_mxpr": num(stats.upper_limit),
        "stck_llam": num(stats.lower_limit),
        "stck_sdpr": num(base),
        "wghn_avrg_stck_prc": dec(value / volume if volume else close),
        "hts_frgn_ehrt": dec(stats.foreign_exhaustion_rate),
        "frgn_ntby_qty": num(foreign_net),
        "pgtr_ntby_qty": num(program_net),
        "pvt_scnd_dmrs_prc": num(pivot + spread),
        "pvt_frst_dmrs_prc": num(2 * pivot - piv.low),
        "pvt_pont_val": num(pivot),
        "pvt_frst_dmsp_prc": num(2 * pivot - piv.high),
        "pvt_scnd_dmsp_prc": num(pivot - spread),
        "dmrs_val": num(demark - piv.low),
        "dmsp_val": num(demark - piv.high),
        "cpfn": num(capital),
        "rstc_wdth_prc": num(stats.upper_limit - base),
        "stck_fcam": num(listing.par_value),
        "stck_sspr": num(close * 0.7 // 10 * 10),
        "aspr_unit": num(tick_size(close)),
        "hts_deal_qty_unit_val": "1",
        "lstn_stcn": num(stats.listed_shares),
        "hts_avls": num(stats.market_cap / 1e8),
        "per": dec(stats.per),
        "pbr": dec(stats.pbr),
        "stac_month": "12",
        "vol_tnrt": dec(stats.volume_turnover if traded else 0.0),
        "eps": dec(stats.eps),
        "bps": dec(stats.bps),
        "d250_hgpr": num(stats.d250_high),
        "d250_hgpr_date": ymd(stats.d250_high_date),
        "d250_hgpr_vrss_prpr_rate": _vs(close, stats.d250_high),
        "d250_lwpr": num(stats.d250_low),
        "d250_lwpr_date": ymd(stats.d250_low_date),
        "d250_lwpr_vrss_prpr_rate": _vs(close, stats.d250_low),
        "stck_dryy_hgpr": num(stats.year_high),
        "dryy_hgpr_vrss_prpr_rate": _vs(close, stats.year_high),
        "dryy_hgpr_date": ymd(stats.year_high_date),
        "stck_dryy_lwpr": num(stats.year_low),
        "dryy_lwpr_vrss_prpr_rate": _vs(close, stats.year_low),
        "dryy_lwpr_date": ymd(stats.year_low_date),
        "w52_hgpr": num(stats.w52_high),
        "w52_hgpr_vrss_prpr_ctrt": _vs(close, stats.w52_high),
        "w52_hgpr_date": ymd(stats.w52_high_date),
        "w52_lwpr": num(stats.w52_low),
        "w52_lwpr_vrss_prpr_ctrt": _vs(close, stats.w52_low),
        "w52_lwpr_date": ymd(stats.w52_low_date),
        "whol_loan_rmnd_rate": dec(0.05 + 2.0 * noise(symbol, "loan")),
        "ssts_yn": "Y",
        "stck_shrn_iscd": symbol,
        "fcam_cnnm": f"{listing.par_value:,}",
        "cpfn_cnnm": f"{capital:,} 억",
        "apprch_rate": "0.00",
        "frgn_hldn_qty": num(stats.foreign_holding_qty),
        "vi_cls_code": yn(flags.vi_applied),
        "ovtm_vi_cls_code": "N",
        "last_ssts_cntg_qty": num(volume * 0.004 * noise(symbol, day, "short")),
        "invt_caful_yn": yn(flags.caution),
        "mrkt_warn_cls_code": flags.market_warning,
        "short_over_yn": "N",
        "sltr_yn": "N",
        "mang_issu_cls_code": "N",
    }


# ---- §7.2 inquire-price-2 -----------------------------------------------------------------

WARNING_NAMES = {"00": "", "01": "투자주의"}


def inquire_price_2(view: MarketView, params: Params, tr_cont: str) -> Reply:
    """The status flags of one stock after the last session (`status_flags`), with its quote."""
    listing, day, bar, last = _asked_stock(view, params)
    symbol = listing.symbol
    flags = status_flags(view.market, symbol, bar, day)
    traded = bar is not None
    close, base = last.close, (bar.prev_close if traded else last.close)
    upper, lower = price_limits(base)
    change, change_sign, change_rate = change_fields(close, base)
    kospi200 = symbol in view.kospi200()
    return Reply(
        ok(
            output={
                "rprs_mrkt_kor_name": view.representative_market(listing),
                "new_hgpr_lwpr_cls_code": "",
                "mxpr_llam_cls_code": "",
                "crdt_able_yn": yn(listing.market != "KONEX" and not flags.caution),
                "stck_mxpr": num(upper),
                "elw_pblc_yn": yn(kospi200),
                "crdt_rate": "0.00" if listing.market == "KONEX" else "45.00",
                "marg_rate": "20.00" if kospi200 else "40.00",
                "stck_lwpr": num(bar.low if traded else 0),
                "stck_hgpr": num(bar.high if traded else 0),
                "mang_issu_yn": "N",
                "short_over_yn": "N",
                "mrkt_warn_cls_code": flags.market_warning,
                "invt_caful_yn": yn(flags.caution),
                "stange_runup_yn": "N",
                "ssts_hot_yn": yn(flags.short_sale_overheat),
                "low_current_yn": "N",
                "vi_cls_code": yn(flags.vi_applied),
                "short_over_cls_code": "",
                "stck_llam": num(lower),
                "new_lstn_cls_name": "",
                "vlnt_deal_cls_name": "",
                "flng_cls_name": "",
                "revl_issu_reas_name": "",
                "mrkt_warn_cls_name": WARNING_NAMES[flags.market_warning],
                "stck_sdpr": num(base),
                "bstp_cls_code": "",
                "stck_prdy_clpr": num(base),
                "insn_pbnt_yn": "N",
                "fcam_mod_cls_name": "",
                "stck_prpr": num(close),
                "prdy_vrss": change,
                "prdy_vrss_sign": change_sign,
                "prdy_ctrt": change_rate,
                "acml_tr_pbmn": num(bar.value if traded else 0),
                "acml_vol": num(bar.volume if traded else 0),
                "bstp_kor_isnm": listing.sector,
                "sltr_yn": "N",
                "trht_yn": yn(flags.halted),
                "oprc_rang_cont_yn": "N",
                "vlnt_fin_cls_code": "",
                "stck_oprc": num(bar.open if traded else 0),
            }
        )
    )


# ---- §7.11 intstock-multprice --------------------------------------------------------------


def multprice(view: MarketView, params: Params, tr_cont: str) -> Reply:
    slots: list[tuple[str, str]] = []
    for n in range(1, MULTI_SLOTS + 1):
        code = params.get(f"FID_INPUT_ISCD_{n}")
        if code is None:
            continue
        if len(code) > 16:
            raise invalid_param(f"FID_INPUT_ISCD_{n}")
        market = (params.get(f"FID_COND_MRKT_DIV_CODE_{n}") or "").strip()
        if market not in STOCK_MARKETS and market != "U":
            raise invalid_param(f"FID_COND_MRKT_DIV_CODE_{n}")
        slots.append((market, code.strip()))
    if not slots:
        raise invalid_param("FID_INPUT_ISCD_1")
    day = view.session()
    prev_day = view.prev_session(day)
    rows = [
        _index_row(view, code, day)
        if market == "U"
        else _stock_row(view, code, day, prev_day, market)
        for market, code in slots
    ]
    return Reply(ok(output=rows))


def _stock_row(
    view: MarketView, symbol: str, day: dt.date, prev_day: dt.date | None, venue: str = "J"
) -> dict[str, str]:
    listing = view.listing(symbol)
    if listing is None:
        return blank_row(MULTI_FIELDS)
    bar = on_venue(venue, listing, view.bar(symbol, day))
    last = bar or on_venue(venue, listing, view.last_bar(symbol, day))
    if last is None:
        return blank_row(MULTI_FIELDS)
    traded = bar is not None
    base = bar.prev_close if traded else last.close
    prev = on_venue(venue, listing, view.bar(symbol, prev_day)) if prev_day is not None else None
    upper, lower = price_limits(base)
    change, change_sign, change_rate = change_fields(last.close, base)
    volume = bar.volume if traded else 0
    best_ask, best_bid, total_ask, total_bid = (
        resting_quantities(symbol, day, volume) if traded else (0, 0, 0, 0)
    )
    return {
        "kospi_kosdaq_cls_name": "",
        "mrkt_trtm_cls_name": "",
        "hour_cls_code": "0",
        "inter_shrn_iscd": symbol,
        "inter_kor_isnm": listing.name,
        "inter2_prpr": num(last.close),
        "inter2_prdy_vrss": change,
        "prdy_vrss_sign": change_sign,
        "prdy_ctrt": change_rate,
        "acml_vol": num(volume),
        "inter2_oprc": num(bar.open if traded else 0),
        "inter2_hgpr": num(bar.high if traded else 0),
        "inter2_lwpr": num(bar.low if traded else 0),
        "inter2_llam": num(lower),
        "inter2_mxpr": num(upper),
        "inter2_askp": num(last.close + tick_size(last.close) if traded else 0),
        "inter2_bidp": num(last.close if traded else 0),
        "seln_rsqn": num(best_ask),
        "shnu_rsqn": num(best_bid),
        "total_askp_rsqn": num(total_ask),
        "total_bidp_rsqn": num(total_bid),
        "acml_tr_pbmn": num(bar.value if traded else 0),
        "inter2_prdy_clpr": num(prev.close if prev is not None else base),
        "oprc_vrss_hgpr_rate": rate(bar.high - bar.open, bar.open) if traded else "0.00",
        "intr_antc_cntg_vrss": "0",
        "intr_antc_cntg_vrss_sign": "3",
        "intr_antc_cntg_prdy_ctrt": "0.00",
        "intr_antc_vol": "0",
        "inter2_sdpr": num(base),
    }


def _index_row(view: MarketView, code: str, day: dt.date) -> dict[str, str]:
    bar = view.index_bar(code, day) if view.is_index(code) else None
    if bar is None:
        return blank_row(MULTI_FIELDS)
    change = bar.close - bar.prev_close
    row = blank_row(MULTI_FIELDS)
    row.update(
        {
            "kospi_kosdaq_cls_name": "업종",
            "hour_cls_code": "2",
            "inter_shrn_iscd": code,
            "inter_kor_isnm": INDEX_NAMES_KR.get(code, code),
            "inter2_prpr": dec(bar.close),
            "inter2_prdy_vrss": dec(change),
            "prdy_vrss_sign": sign(round(change, 2)),
            "prdy_ctrt": rate(change, bar.prev_close),
            # Index rows count in thousand shares and KRW million (portal example magnitudes).
            "acml_vol": num(bar.volume // 1000),
            "inter2_oprc": dec(bar.open),
            "inter2_hgpr": dec(bar.high),
            "inter2_lwpr": dec(bar.low),
            "total_askp_rsqn": num(bar.volume * (0.02 + 0.03 * noise(code, day, "ask")) // 1000),
            "total_bidp_rsqn": num(bar.volume * (0.02 + 0.03 * noise(code, day, "bid")) // 1000),
            "acml_tr_pbmn": num(bar.value // 1_000_000),
            "inter2_prdy_clpr": dec(bar.prev_close),
            "intr_antc_cntg_vrss": "0.00",
            "intr_antc_cntg_vrss_sign": "3",
            "intr_antc_cntg_prdy_ctrt": "0.00",
            "intr_antc_vol": "0",
            "inter2_sdpr": dec(bar.prev_close),
        }
    )
    return row


QUOTATIONS = "/uapi/domestic-stock/v1/quotations"
ENDPOINTS = (
    Endpoint("/uapi/domestic-stock/v1/quotations/inquire-price", "FHKST01010100", inquire_price),
    Endpoint("/uapi/domestic-stock/v1/quotations/intstock-multprice", "FHKST11300006", multprice),
    Endpoint(f"{QUOTATIONS}/inquire-price-2", "FHPST01010000", inquire_price_2),
)
