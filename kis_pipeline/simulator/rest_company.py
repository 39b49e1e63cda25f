"""Company reference and analyst endpoints: search-stock-info (SPEC §10.9), estimate-perform
(§10.11) and invest-opinion (§10.12).

- search-stock-info answers one object for a listed stock, for the master file's non-stock
  securities (ETF, ETN, REIT) and for the names delisted before the history
  (`market_company.FORMER_LISTINGS`, with their delisting dates, `tr_stop_yn` "Y"). Dates
  KIS has none for are blank; a KONEX name has no listing-date field of its market. Only
  `PRDT_TYPE_CD` 300 describes a stock: any other type of a stock code is MCA05918.
- estimate-perform answers the positional layout of the portal: `output2` six rows (revenue,
  its growth, operating profit, its growth, net income, its growth), `output3` eight rows
  (EBITDA, EPS, EPS growth, PER, EV/EBITDA, ROE, debt ratio, interest coverage), columns
  `data1`..`data5` for the fiscal periods of `output4`. Amounts are whole KRW 100 million
  (EBITDA whole KRW billion, EPS whole KRW), rates and multiples in tenths (0.1 %, 0.1 x), as
  SPEC states for `output3`. `output1` carries the fields the portal labels after an ELW
  screen. A listed symbol KIS Research does not cover answers empty arrays.
- invest-opinion answers the reports dated in `FID_INPUT_DATE_1`..`_2` (`00YYYYMMDD`
  accepted), newest first, at most 100: the caller narrows the window to page.
- ksdinfo/list-info (KSD listing schedule, HHKDB669107C0) answers the share listings dated in
  `F_DT`..`T_DT`, newest first, at most 100 (`LIST_INFO_ROWS`): the IPOs (`신규상장`) of the
  names listed and delisted inside the history and the new shares of each split (`액면분할`).
An unknown code is MCA05918 everywhere.
"""

from __future__ import annotations

from typing import Any

from kis_pipeline.simulator.market_company import estimates, former_listing, opinions
from kis_pipeline.simulator.market_delisted import LATER_DELISTINGS
from kis_pipeline.simulator.master_format import isin_for
from kis_pipeline.simulator.masters import non_stocks, sector_code
from kis_pipeline.simulator.rest_common import (
    Endpoint,
    Params,
    Reply,
    blank_row,
    dec,
    num,
    ok,
    unknown_symbol,
    ymd,
    yn,
)
from kis_pipeline.simulator.rest_market import MarketView, is_preferred
from kis_pipeline.simulator.rest_quotes import change_fields
from kis_pipeline.simulator.venues import nxt_tradable

OPINION_ROWS = 100
MARKET_IDS = {"KOSPI": "STK", "KOSDAQ": "KSQ", "KONEX": "KNX"}
EXCHANGE_CODES = {"KOSPI": "02", "KOSDAQ": "03", "KONEX": "02"}
# The market's own listing and delisting date fields (KONEX has none).
LISTING_FIELDS = {
    "KOSPI": ("scts_mket_lstg_dt", "scts_mket_lstg_abol_dt"),
    "KOSDAQ": ("kosdaq_mket_lstg_dt", "kosdaq_mket_lstg_abol_dt"),
}
STOCK_INFO_FIELDS = [
    "pdno",
    "prdt_type_cd",
    "mket_id_cd",
    "scty_grp_id_cd",
    "excg_dvsn_cd",
    "setl_mmdd",
    "lstg_stqt",
    "lstg_cptl_amt",
    "cpta",
    "papr",
    "issu_pric",
    "kospi200_item_yn",
    "scts_mket_lstg_dt",
    "scts_mket_lstg_abol_dt",
    "kosdaq_mket_lstg_dt",
    "kosdaq_mket_lstg_abol_dt",
    "frbd_mket_lstg_dt",
    "frbd_mket_lstg_abol_dt",
    "reits_kind_cd",
    "etf_dvsn_cd",
    "oilf_fund_yn",
    "idx_bztp_lcls_cd",
    "idx_bztp_mcls_cd",
    "idx_bztp_scls_cd",
    "stck_kind_cd",
    "mfnd_opng_dt",
    "mfnd_end_dt",
    "dpsi_erlm_cncl_dt",
    "etf_cu_qty",
    "prdt_name",
    "prdt_name120",
    "prdt_abrv_name",
    "std_pdno",
    "prdt_eng_name",
    "prdt_eng_name120",
    "prdt_eng_abrv_name",
    "dpsi_aptm_erlm_yn",
    "etf_txtn_type_cd",
    "etf_type_cd",
    "lstg_abol_dt",
    "nwst_odst_dvsn_cd",
    "sbst_pric",
    "thco_sbst_pric",
    "thco_sbst_pric_chng_dt",
    "tr_stop_yn",
    "admn_item_yn",
    "thdt_clpr",
    "bfdy_clpr",
    "clpr_chng_dt",
    "std_idst_clsf_cd",
    "std_idst_clsf_cd_name",
    "idx_bztp_lcls_cd_name",
    "idx_bztp_mcls_cd_name",
    "idx_bztp_scls_cd_name",
    "ocr_no",
    "crfd_item_yn",
    "elec_scty_yn",
    "issu_istt_cd",
    "etf_chas_erng_rt_dbnb",
    "etf_etn_ivst_heed_item_yn",
    "stln_int_rt_dvsn_cd",
    "frnr_psnl_lmt_rt",
    "lstg_rqsr_issu_istt_cd",
    "lstg_rqsr_item_cd",
    "trst_istt_issu_istt_cd",
    "cptt_trad_tr_psbl_yn",
    "nxt_tr_stop_yn",
]


# ---- §10.9 search-stock-info -------------------------------------------------------------


def search_stock_info(view: MarketView, params: Params, tr_cont: str) -> Reply:
    kind = params.choice("PRDT_TYPE_CD", ("300", "301", "302", "306"), 3)
    symbol = params.require("PDNO", 12)
    row = _stock_info(view, symbol) if kind == "300" else None
    if row is None:
        raise unknown_symbol()
    return Reply(ok(output=row))


def _stock_info(view: MarketView, symbol: str) -> dict[str, str] | None:
    listing = view.listing(symbol)
    if listing is not None:
        return _listed(view, listing)
    others = non_stocks(view.market, view.session())
    other = next((n for n in others if n.symbol == symbol), None)
    if other is not None:
        row = _record(symbol, other.name, "KOSPI", other.listed_shares, other.par_value)
        row.update(scty_grp_id_cd=other.security_group, stck_kind_cd="000")
        row.update(scts_mket_lstg_dt=ymd(other.list_date), thdt_clpr=num(other.base_price))
        return row
    former = former_listing(view.market, symbol)
    if former is None:
        return None
    row = _record(symbol, former.name, former.market, former.listed_shares, former.par_value)
    _sector(row, former.sector)
    listed, delisted = LISTING_FIELDS[former.market]
    row.update({listed: ymd(former.list_date), delisted: ymd(former.delist_date)})
    row.update(lstg_abol_dt=ymd(former.delist_date), tr_stop_yn="Y")
    row.update(thdt_clpr=num(former.last_close), bfdy_clpr=num(former.last_close))
    return row


def _record(symbol: str, name: str, market: str, shares: int, par: int) -> dict[str, str]:
    row = blank_row(STOCK_INFO_FIELDS)
    row.update(
        pdno=symbol,
        prdt_type_cd="300",
        mket_id_cd=MARKET_IDS[market],
        scty_grp_id_cd="KN" if market == "KONEX" else "ST",
        excg_dvsn_cd=EXCHANGE_CODES[market],
        setl_mmdd="1231",
        lstg_stqt=num(shares),
        lstg_cptl_amt=num(shares * par),
        cpta=num(shares * par),
        papr=num(par),
        issu_pric=num(par),
        kospi200_item_yn="N",
        stck_kind_cd="201" if is_preferred(symbol) else "101",
        prdt_name=name,
        prdt_name120=name,
        prdt_abrv_name=name,
        std_pdno=isin_for(symbol),
        prdt_eng_name=f"SIMULATED {symbol}",
        tr_stop_yn="N",
        admn_item_yn="N",
        elec_scty_yn="Y",
        cptt_trad_tr_psbl_yn="N",
        nxt_tr_stop_yn="N",
    )
    return row


def _sector(row: dict[str, str], sector: str) -> None:
    # The index sector code is three characters here, the master files' four less the 0.
    row.update(idx_bztp_lcls_cd=sector_code(sector)[-3:], idx_bztp_lcls_cd_name=sector)


def _listed(view: MarketView, listing: Any) -> dict[str, str]:
    row = _record(
        listing.symbol, listing.name, listing.market, listing.listed_shares, listing.par_value
    )
    _sector(row, listing.sector)
    if listing.market in LISTING_FIELDS:
        row[LISTING_FIELDS[listing.market][0]] = ymd(listing.list_date)
    day = view.session()
    bar = view.last_bar(listing.symbol, day)
    if bar is not None:
        row.update(thdt_clpr=num(bar.close), bfdy_clpr=num(bar.prev_close), clpr_chng_dt=ymd(day))
    nxt = nxt_tradable(listing)
    row.update(kospi200_item_yn=yn(listing.symbol in view.kospi200()), cptt_trad_tr_psbl_yn=yn(nxt))
    return row


# ---- §10.11 estimate-perform -------------------------------------------------------------

_OUTPUT2 = (
    ("revenue", 1),
    ("revenue_growth", 10),
    ("operating_profit", 1),
    ("operating_profit_growth", 10),
    ("net_income", 1),
    ("net_income_growth", 10),
)
_OUTPUT3 = (
    ("ebitda", 1),
    ("eps", 1),
    ("eps_growth", 10),
    ("per", 10),
    ("ev_ebitda", 10),
    ("roe", 10),
    ("debt_ratio", 10),
    ("interest_coverage", 10),
)


def estimate_perform(view: MarketView, params: Params, tr_cont: str) -> Reply:
    symbol = params.require("SHT_CD", 9)
    listing = view.listing(symbol)
    if listing is None:
        raise unknown_symbol()
    years = estimates(view.market, symbol, view.market.today())
    head = blank_row(["sht_cd", "item_kor_nm", "name1", "name2", "estdate", "rcmd_name", "capital"])
    head.update(sht_cd=symbol, item_kor_nm=listing.name, forn_item_lmtrt="")
    bar = view.last_bar(symbol, view.session())
    if bar is not None:
        change, sign, rate = change_fields(bar.close, bar.prev_close)
        head.update(name1=num(bar.close), name2=change, estdate=sign, rcmd_name=rate)
        head.update(capital=num(bar.volume))

    def table(rows: tuple[tuple[str, int], ...]) -> list[dict[str, str]]:
        return [
            {f"data{i}": num(getattr(y, name) * scale) for i, y in enumerate(years, start=1)}
            for name, scale in rows
        ]

    return Reply(
        ok(
            output1=head,
            output2=table(_OUTPUT2) if years else [],
            output3=table(_OUTPUT3) if years else [],
            output4=[{"dt": y.period} for y in years],
        )
    )


# ---- §10.12 invest-opinion ---------------------------------------------------------------


def invest_opinion(view: MarketView, params: Params, tr_cont: str) -> Reply:
    params.choice("FID_COND_MRKT_DIV_CODE", ("J",))
    params.choice("FID_COND_SCR_DIV_CODE", ("16633",), 5)
    symbol = params.require("FID_INPUT_ISCD", 12)
    start = params.date("FID_INPUT_DATE_1")
    end = params.date("FID_INPUT_DATE_2")
    if view.listing(symbol) is None:
        raise unknown_symbol()
    found = opinions(view.market, symbol, start, end) if start <= end else []
    latest = view.last_bar(symbol, view.session())
    rows = []
    for o in found[:OPINION_ROWS]:
        gap = (latest.close if latest is not None else o.prev_close) - o.target_price
        rows.append(
            {
                "stck_bsop_date": ymd(o.date),
                "invt_opnn": o.opinion,
                "invt_opnn_cls_code": o.code,
                "rgbf_invt_opnn": o.previous,
                "rgbf_invt_opnn_cls_code": o.previous_code,
                "mbcr_name": o.broker,
                "hts_goal_prc": num(o.target_price),
                "stck_prdy_clpr": num(o.prev_close),
                "stck_nday_esdg": num(gap),
                "nday_dprt": dec(gap / o.target_price * 100),
                "stft_esdg": "0",
                "dprt": dec((o.prev_close - o.target_price) / o.target_price * 100),
            }
        )
    return Reply(ok(output=rows))


# ---- KSD listing schedule, ksdinfo/list-info ----------------------------------------------

# At most this many rows a call, newest first; the CTS continuation does not page (the
# official samples split a range into single days for that reason).
LIST_INFO_ROWS = 100


def listing_schedule(view: MarketView, params: Params, tr_cont: str) -> Reply:
    params.require("CTS", 17)
    start = params.date("F_DT", max_len=8)
    end = params.date("T_DT", max_len=8)
    symbol = params.require("SHT_CD", 9)
    events = view.memo(("listing_events", view.market.today()), lambda: _listing_events(view))
    rows = [e for e in events if start <= e[0] <= end and (not symbol or e[1]["sht_cd"] == symbol)]
    return Reply(ok(output1=[row for _, row in rows[:LIST_INFO_ROWS]]))


def _listing_events(view: MarketView) -> list[tuple[Any, dict[str, str]]]:
    """(date, row) of every share listing the model knows, newest first: the IPOs of the names
    listed and delisted inside the history, and the new shares of each split."""
    market = view.market
    out: list[tuple[Any, dict[str, str]]] = []
    for gone in LATER_DELISTINGS:
        if market.delisted(gone.symbol) is not None:
            shares = gone.listed_shares
            row = _event(gone.list_date, gone, "신규상장", shares, shares, gone.ipo_price)
            out.append((gone.list_date, row))
    for listing in market.listings:
        for action in market.corporate_actions(listing.symbol):
            if action.kind != "split":
                # Bonus issues and capital reductions have schedules of their own.
                continue
            shares = market.listed_shares(listing.symbol, action.date)
            added = shares - round(shares / action.ratio)
            out.append((action.date, _event(action.date, listing, "액면분할", added, shares, 0)))
    out.sort(key=lambda e: (e[0], e[1]["sht_cd"]), reverse=True)
    return out


def _event(
    day: Any, listing: Any, reason: str, shares: int, total: int, price: int
) -> dict[str, str]:
    return {
        "list_dt": ymd(day),
        "sht_cd": listing.symbol,
        "isin_name": listing.name,
        "stk_kind": "보통",
        "issue_type": reason,
        "issue_stk_qty": f"{shares:12d}",
        "tot_issue_stk_qty": f"{total:12d}",
        "issue_price": f"{price:9d}",
    }


QUOTATIONS = "/uapi/domestic-stock/v1/quotations"
ENDPOINTS = (
    Endpoint("/uapi/domestic-stock/v1/ksdinfo/list-info", "HHKDB669107C0", listing_schedule),
    Endpoint(f"{QUOTATIONS}/search-stock-info", "CTPF1002R", search_stock_info),
    Endpoint(f"{QUOTATIONS}/estimate-perform", "HHKST668300C0", estimate_perform),
    Endpoint(f"{QUOTATIONS}/invest-opinion", "FHKST663300C0", invest_opinion),
)
