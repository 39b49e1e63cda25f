"""The simulator's market-data endpoints against a live server on loopback, over plain httpx.

Each test checks what a KIS client relies on: paths and TR_IDs, the string-valued envelope,
the documented fields, row caps, ordering, paging and the quirks SPEC describes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from kis_pipeline.common.clock import KST
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.server import SimulatorServer
from tests.simulator.rest_api import PRICE, Api

NOW = dt.datetime(2024, 5, 17, 18, 0, tzinfo=KST)  # a Friday evening: 2024-05-17 is complete
SESSION = dt.date(2024, 5, 17)
CONFIG = SimConfig(seed=5, universe=40, start=dt.date(2017, 1, 2), now=NOW)

MULTI = ("/uapi/domestic-stock/v1/quotations/intstock-multprice", "FHKST11300006")
CHART = ("/uapi/domestic-stock/v1/quotations/inquire-daily-itemchartprice", "FHKST03010100")
INDEX_CHART = ("/uapi/domestic-stock/v1/quotations/inquire-daily-indexchartprice", "FHKUP03500100")
OVERSEAS = ("/uapi/overseas-price/v1/quotations/dailyprice", "HHDFS76240000")
VOLUME_RANK = ("/uapi/domestic-stock/v1/quotations/volume-rank", "FHPST01710000")
FLUCTUATION = ("/uapi/domestic-stock/v1/ranking/fluctuation", "FHPST01700000")
MARKET_CAP = ("/uapi/domestic-stock/v1/ranking/market-cap", "FHPST01740000")
STOCK_FLOWS = ("/uapi/domestic-stock/v1/quotations/investor-trade-by-stock-daily", "FHPTJ04160001")
MARKET_FLOWS = (
    "/uapi/domestic-stock/v1/quotations/inquire-investor-daily-by-market",
    "FHPTJ04040000",
)
BALANCE = ("/uapi/domestic-stock/v1/finance/balance-sheet", "FHKST66430100")
INCOME = ("/uapi/domestic-stock/v1/finance/income-statement", "FHKST66430200")
RATIOS = ("/uapi/domestic-stock/v1/finance/financial-ratio", "FHKST66430300")
DIVIDEND = ("/uapi/domestic-stock/v1/ksdinfo/dividend", "HHKDB669102C0")
HOLIDAY = ("/uapi/domestic-stock/v1/quotations/chk-holiday", "CTCA0903R")


def all_strings(rows: dict[str, Any] | list[dict[str, Any]]) -> bool:
    rows = rows if isinstance(rows, list) else [rows]
    return all(isinstance(v, str) for row in rows for v in row.values())


def chart_params(
    symbol: str, start: dt.date, end: dt.date, *, adjusted: bool, period: str = "D"
) -> dict[str, str]:
    return {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_INPUT_ISCD": symbol,
        "FID_INPUT_DATE_1": f"{start:%Y%m%d}",
        "FID_INPUT_DATE_2": f"{end:%Y%m%d}",
        "FID_PERIOD_DIV_CODE": period,
        "FID_ORG_ADJ_PRC": "0" if adjusted else "1",
    }


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(CONFIG) as running:
        yield running


@pytest.fixture
def api(server: SimulatorServer) -> Iterator[Api]:
    caller = Api(server)
    yield caller
    caller.close()


# ---- current price and multi-quote ---------------------------------------------------------

PRICE_FIELDS = (
    "iscd_stat_cls_code",
    "marg_rate",
    "rprs_mrkt_kor_name",
    "new_hgpr_lwpr_cls_code",
    "bstp_kor_isnm",
    "temp_stop_yn",
    "oprc_rang_cont_yn",
    "clpr_rang_cont_yn",
    "crdt_able_yn",
    "grmn_rate_cls_code",
    "elw_pblc_yn",
    "stck_prpr",
    "prdy_vrss",
    "prdy_vrss_sign",
    "prdy_ctrt",
    "acml_tr_pbmn",
    "acml_vol",
    "prdy_vrss_vol_rate",
    "stck_oprc",
    "stck_hgpr",
    "stck_lwpr",
    "stck_mxpr",
    "stck_llam",
    "stck_sdpr",
    "wghn_avrg_stck_prc",
    "hts_frgn_ehrt",
    "frgn_ntby_qty",
    "pgtr_ntby_qty",
    "pvt_scnd_dmrs_prc",
    "pvt_frst_dmrs_prc",
    "pvt_pont_val",
    "pvt_frst_dmsp_prc",
    "pvt_scnd_dmsp_prc",
    "dmrs_val",
    "dmsp_val",
    "cpfn",
    "rstc_wdth_prc",
    "stck_fcam",
    "stck_sspr",
    "aspr_unit",
    "hts_deal_qty_unit_val",
    "lstn_stcn",
    "hts_avls",
    "per",
    "pbr",
    "stac_month",
    "vol_tnrt",
    "eps",
    "bps",
    "d250_hgpr",
    "d250_hgpr_date",
    "d250_hgpr_vrss_prpr_rate",
    "d250_lwpr",
    "d250_lwpr_date",
    "d250_lwpr_vrss_prpr_rate",
    "stck_dryy_hgpr",
    "dryy_hgpr_vrss_prpr_rate",
    "dryy_hgpr_date",
    "stck_dryy_lwpr",
    "dryy_lwpr_vrss_prpr_rate",
    "dryy_lwpr_date",
    "w52_hgpr",
    "w52_hgpr_vrss_prpr_ctrt",
    "w52_hgpr_date",
    "w52_lwpr",
    "w52_lwpr_vrss_prpr_ctrt",
    "w52_lwpr_date",
    "whol_loan_rmnd_rate",
    "ssts_yn",
    "stck_shrn_iscd",
    "fcam_cnnm",
    "cpfn_cnnm",
    "apprch_rate",
    "frgn_hldn_qty",
    "vi_cls_code",
    "ovtm_vi_cls_code",
    "last_ssts_cntg_qty",
    "invt_caful_yn",
    "mrkt_warn_cls_code",
    "short_over_yn",
    "sltr_yn",
    "mang_issu_cls_code",
)

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


def test_inquire_price_is_the_last_session_with_every_documented_field(
    api: Api, server: SimulatorServer
) -> None:
    body = api.ok(PRICE, {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"})
    out = body["output"]
    assert set(PRICE_FIELDS) <= set(out) and all_strings(out)
    bar = server.state.market.bar("005930", SESSION)
    assert out["stck_prpr"] == str(bar.close)
    assert int(out["prdy_vrss"]) == bar.close - bar.prev_close
    assert out["acml_vol"] == str(bar.volume)
    assert int(out["stck_llam"]) < bar.low <= bar.high < int(out["stck_mxpr"])


def test_unknown_symbol_is_a_business_error(api: Api) -> None:
    response = api.get(PRICE, {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "999999"})
    assert response.status_code == 200
    assert response.json()["rt_cd"] == "1"
    assert response.json()["msg_cd"] == "MCA05918"


def _multi_params(codes: list[tuple[str, str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for n, (market, code) in enumerate(codes, start=1):
        params[f"FID_COND_MRKT_DIV_CODE_{n}"] = market
        params[f"FID_INPUT_ISCD_{n}"] = code
    return params


def test_multprice_keeps_request_order_and_drops_the_31st_symbol(
    api: Api, server: SimulatorServer
) -> None:
    symbols = [listing.symbol for listing in server.state.market.listings][:31]
    symbols.reverse()
    body = api.ok(MULTI, _multi_params([("J", s) for s in symbols]))
    rows = body["output"]
    assert [row["inter_shrn_iscd"] for row in rows] == symbols[:30]
    assert all(set(row) == set(MULTI_FIELDS) for row in rows) and all_strings(rows)
    assert not any("date" in field or "bsop" in field for field in rows[0])


def test_multprice_answers_unknown_codes_with_empty_rows_and_serves_index_rows(
    api: Api, server: SimulatorServer
) -> None:
    body = api.ok(MULTI, _multi_params([("J", "005930"), ("J", "999999"), ("U", "0001")]))
    stock, unknown, index = body["output"]
    assert stock["inter2_prpr"] == str(server.state.market.bar("005930", SESSION).close)
    assert set(unknown.values()) == {""}
    kospi = server.state.market.index_bars("0001", SESSION, SESSION)[0]
    assert index["inter_shrn_iscd"] == "0001"
    assert index["inter2_prpr"] == f"{kospi.close:.2f}"
    assert index["inter2_mxpr"] == index["inter2_askp"] == ""


def test_multprice_measures_change_against_the_base_price_on_a_split_day() -> None:
    # 005930 split 1:50 on 2018-05-04: the base price is reset, the previous close is not.
    config = SimConfig(
        seed=5,
        universe=3,
        start=dt.date(2018, 1, 2),
        now=dt.datetime(2018, 5, 4, 18, 0, tzinfo=KST),
    )
    with SimulatorServer(config) as split_server:
        caller = Api(split_server)
        row = caller.ok(MULTI, _multi_params([("J", "005930")]))["output"][0]
        caller.close()
    price, base, prev_close = (
        int(row[k]) for k in ("inter2_prpr", "inter2_sdpr", "inter2_prdy_clpr")
    )
    assert prev_close > 40 * base
    assert int(row["inter2_prdy_vrss"]) == price - base
    assert float(row["prdy_ctrt"]) == pytest.approx((price - base) / base * 100, abs=0.006)


# ---- daily charts --------------------------------------------------------------------------


def _walk(
    api: Api,
    endpoint: tuple[str, str],
    params: dict[str, str],
    rows_key: str,
    date_key: str,
    end_param: str,
    start: dt.date,
) -> list[list[str]]:
    """Walk a chart back from its end date the way SPEC §6 describes; the dates per call."""
    windows: list[list[str]] = []
    while True:
        rows = api.ok(endpoint, params)[rows_key]
        dates = [row[date_key] for row in rows]
        if not dates:
            return windows
        windows.append(dates)
        oldest = dt.datetime.strptime(dates[-1], "%Y%m%d").date()
        if oldest <= start:
            return windows
        params = {**params, end_param: f"{oldest - dt.timedelta(days=1):%Y%m%d}"}


def test_daily_chart_walk_covers_every_trading_day_once_newest_first(
    api: Api, server: SimulatorServer
) -> None:
    start = dt.date(2023, 1, 1)
    params = chart_params("000660", start, SESSION, adjusted=False)
    windows = _walk(api, CHART, params, "output2", "stck_bsop_date", "FID_INPUT_DATE_2", start)
    assert all(len(w) <= 100 for w in windows) and len(windows[0]) == 100
    flat = [d for w in windows for d in w]
    assert flat == sorted(flat, reverse=True)
    expected = server.state.market.trading_days(start, SESSION)
    assert flat == [f"{d:%Y%m%d}" for d in reversed(expected)]


def test_daily_chart_shapes_and_summary(api: Api) -> None:
    body = api.ok(CHART, chart_params("005930", dt.date(2024, 1, 1), SESSION, adjusted=True))
    assert body["output1"]["stck_shrn_iscd"] == "005930" and all_strings(body["output1"])
    assert "itewhol_loan_rmnd_ratem" in body["output1"]
    row = body["output2"][0]
    assert set(row) == {
        "stck_bsop_date",
        "stck_clpr",
        "stck_oprc",
        "stck_hgpr",
        "stck_lwpr",
        "acml_vol",
        "acml_tr_pbmn",
        "flng_cls_code",
        "prtt_rate",
        "mod_yn",
        "prdy_vrss_sign",
        "prdy_vrss",
        "revl_issu_reas",
    }
    assert all_strings(body["output2"])


def test_adjusted_and_raw_charts_differ_before_a_split_and_both_flag_the_split_day(
    api: Api,
) -> None:
    window = (dt.date(2018, 4, 30), dt.date(2018, 5, 8))
    raw = {
        r["stck_bsop_date"]: r
        for r in api.ok(CHART, chart_params("005930", *window, adjusted=False))["output2"]
    }
    adj = {
        r["stck_bsop_date"]: r
        for r in api.ok(CHART, chart_params("005930", *window, adjusted=True))["output2"]
    }
    assert raw.keys() == adj.keys()
    before, split = raw["20180503"], raw["20180504"]
    assert int(before["stck_clpr"]) == pytest.approx(
        50 * int(adj["20180503"]["stck_clpr"]), rel=0.01
    )
    assert int(adj["20180503"]["acml_vol"]) == pytest.approx(50 * int(before["acml_vol"]), rel=0.01)
    assert split["stck_clpr"] == adj["20180504"]["stck_clpr"]
    for rows in (raw, adj):
        day = rows["20180504"]
        assert (day["flng_cls_code"], day["prtt_rate"], day["revl_issu_reas"]) == (
            "01",
            "0.02",
            "99",
        )
    # The raw change on the split day is measured from the reset base, not the old close.
    assert abs(int(split["prdy_vrss"])) < int(split["stck_clpr"]) * 0.3


def test_weekly_chart_aggregates_days(api: Api) -> None:
    body = api.ok(
        CHART, chart_params("000660", dt.date(2024, 4, 1), SESSION, adjusted=False, period="W")
    )
    daily = api.ok(CHART, chart_params("000660", dt.date(2024, 5, 13), SESSION, adjusted=False))[
        "output2"
    ]
    week = body["output2"][0]
    assert week["stck_bsop_date"] == "20240517"
    assert int(week["acml_vol"]) == sum(int(r["acml_vol"]) for r in daily)
    assert week["stck_hgpr"] == str(max(int(r["stck_hgpr"]) for r in daily))


def test_index_chart_returns_at_most_50_rows_newest_first(api: Api) -> None:
    params = {
        "FID_COND_MRKT_DIV_CODE": "U",
        "FID_INPUT_ISCD": "0001",
        "FID_INPUT_DATE_1": "20230101",
        "FID_INPUT_DATE_2": "20240517",
        "FID_PERIOD_DIV_CODE": "D",
    }
    body = api.ok(INDEX_CHART, params)
    rows = body["output2"]
    assert len(rows) == 50 and rows[0]["stck_bsop_date"] == "20240517"
    assert [r["stck_bsop_date"] for r in rows] == sorted(
        (r["stck_bsop_date"] for r in rows), reverse=True
    )
    assert body["output1"]["bstp_cls_code"] == "0001" and all_strings(body["output1"])
    assert all_strings(rows) and float(rows[0]["bstp_nmix_prpr"]) > 0


def test_overseas_daily_walks_back_with_bymd(api: Api, server: SimulatorServer) -> None:
    params = {"AUTH": "", "EXCD": "NAS", "SYMB": "AAPL", "GUBN": "0", "BYMD": "", "MODP": "1"}
    first = api.ok(OVERSEAS, params)
    rows = first["output2"]
    assert len(rows) == 100 and first["output1"]["rsym"] == "DNASAAPL"
    assert rows[0]["xymd"] == f"{server.state.market.overseas_last_day('NAS'):%Y%m%d}"
    oldest = dt.datetime.strptime(rows[-1]["xymd"], "%Y%m%d").date()
    second = api.ok(OVERSEAS, {**params, "BYMD": f"{oldest - dt.timedelta(days=1):%Y%m%d}"})
    assert second["output2"][0]["xymd"] < rows[-1]["xymd"]
    for row in rows:
        assert not row["diff"].startswith("-")
        assert (row["sign"] == "5") == row["rate"].startswith("-")


@pytest.mark.parametrize(
    ("excd", "symbol", "zdiv"),
    [("HSX", "VNM", 0), ("HNX", "PVS", 0), ("SHS", "600519", 2), ("SZI", "399001", 2)],
)
def test_overseas_prices_carry_the_markets_decimals(
    api: Api, excd: str, symbol: str, zdiv: int
) -> None:
    # Vietnamese prices are whole dong; Chinese ones (and index points) have two decimals.
    params = {"AUTH": "", "EXCD": excd, "SYMB": symbol, "GUBN": "0", "BYMD": "", "MODP": "0"}
    body = api.ok(OVERSEAS, params)
    assert body["output1"] == {"rsym": f"D{excd}{symbol}", "zdiv": str(zdiv), "nrec": "100"}
    for row in body["output2"]:
        for field in ("open", "high", "low", "clos"):
            whole, _, fraction = row[field].partition(".")
            assert len(fraction) == zdiv and int(whole) > 0, (field, row[field])


def test_overseas_unknown_ticker_is_empty_and_unknown_exchange_an_error(api: Api) -> None:
    params = {"AUTH": "", "EXCD": "NAS", "SYMB": "NOPE", "GUBN": "0", "BYMD": "", "MODP": "0"}
    assert api.ok(OVERSEAS, params)["output2"] == []
    body = api.get(OVERSEAS, {**params, "EXCD": "XXX"}).json()
    assert (body["rt_cd"], body["msg_cd"]) == ("2", "OPSQ2001")


# ---- rankings ------------------------------------------------------------------------------


def _ranking_params(upper: bool, **extra: str) -> dict[str, str]:
    common = {
        "fid_cond_mrkt_div_code": "J",
        "fid_input_iscd": "0000",
        "fid_div_cls_code": "0",
        "fid_trgt_cls_code": "0",
        "fid_trgt_exls_cls_code": "0",
        "fid_input_price_1": "",
        "fid_input_price_2": "",
        "fid_vol_cnt": "",
    }
    common.update(extra)
    return {k.upper(): v for k, v in common.items()} if upper else common


def test_volume_rank_is_capped_at_30_and_sorted(api: Api) -> None:
    params = _ranking_params(True, FID_COND_SCR_DIV_CODE="20171", FID_BLNG_CLS_CODE="0")
    rows = api.ok(VOLUME_RANK, params)["output"]
    assert len(rows) == 30 and [r["data_rank"] for r in rows] == [str(i) for i in range(1, 31)]
    volumes = [int(r["acml_vol"]) for r in rows]
    assert volumes == sorted(volumes, reverse=True) and all_strings(rows)


def test_fluctuation_rank_rise_and_fall(api: Api) -> None:
    base = _ranking_params(
        False,
        fid_cond_scr_div_code="20170",
        fid_input_cnt_1="0",
        fid_prc_cls_code="0",
        fid_rsfl_rate1="",
        fid_rsfl_rate2="",
    )
    rise = api.ok(FLUCTUATION, {**base, "fid_rank_sort_cls_code": "0"})["output"]
    fall = api.ok(FLUCTUATION, {**base, "fid_rank_sort_cls_code": "1"})["output"]
    rise_rates = [float(r["prdy_ctrt"]) for r in rise]
    fall_rates = [float(r["prdy_ctrt"]) for r in fall]
    assert len(rise) == 30 and rise_rates == sorted(rise_rates, reverse=True)
    assert fall_rates == sorted(fall_rates) and all_strings(rise)


def test_market_cap_rank_filters_by_market(api: Api, server: SimulatorServer) -> None:
    base = _ranking_params(False, fid_cond_scr_div_code="20174")
    rows = api.ok(MARKET_CAP, base)["output"]
    caps = [int(r["stck_avls"]) for r in rows]
    assert len(rows) == 30 and caps == sorted(caps, reverse=True)
    kosdaq = api.ok(MARKET_CAP, {**base, "fid_input_iscd": "1001"})["output"]
    assert kosdaq and all(
        server.state.market.listing(r["mksc_shrn_iscd"]).market == "KOSDAQ" for r in kosdaq
    )


# ---- investor flows ------------------------------------------------------------------------


def test_stock_flows_are_daily_rows_whose_nets_cancel(api: Api) -> None:
    params = {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_INPUT_ISCD": "005930",
        "FID_INPUT_DATE_1": "20240517",
        "FID_ORG_ADJ_PRC": "",
        "FID_ETC_CLS_CODE": "1",
    }
    body = api.ok(STOCK_FLOWS, params)
    rows = body["output2"]
    assert len(rows) == 30 and rows[0]["stck_bsop_date"] == "20240517"
    assert [r["stck_bsop_date"] for r in rows] == sorted(
        (r["stck_bsop_date"] for r in rows), reverse=True
    )
    for row in rows:
        nets = ("prsn_ntby_qty", "frgn_ntby_qty", "orgn_ntby_qty", "etc_corp_ntby_vol")
        assert sum(int(row[k]) for k in nets) == 0
    assert all_strings(rows) and body["output1"]["stck_prpr"] == rows[0]["stck_clpr"]


def test_market_flows_follow_the_requested_market(api: Api) -> None:
    params = {
        "FID_COND_MRKT_DIV_CODE": "U",
        "FID_INPUT_ISCD": "0001",
        "FID_INPUT_DATE_1": "20240517",
        "FID_INPUT_ISCD_1": "KSP",
        "FID_INPUT_DATE_2": "20240517",
        "FID_INPUT_ISCD_2": "0001",
    }
    kospi = api.ok(MARKET_FLOWS, params)["output"]
    kosdaq = api.ok(MARKET_FLOWS, {**params, "FID_INPUT_ISCD": "1001", "FID_INPUT_ISCD_1": "KSQ"})[
        "output"
    ]
    assert len(kospi) == 30 and kospi[0]["stck_bsop_date"] == "20240517" and all_strings(kospi)
    assert kospi[0]["prsn_ntby_qty"] != kosdaq[0]["prsn_ntby_qty"]
    assert kospi[0]["bstp_nmix_prpr"] != kosdaq[0]["bstp_nmix_prpr"]


# ---- financials, dividends, calendar -------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "field"), [(BALANCE, "total_aset"), (INCOME, "sale_account"), (RATIOS, "roe_val")]
)
def test_financial_statements_by_period_kind(
    api: Api, endpoint: tuple[str, str], field: str
) -> None:
    params = {"FID_DIV_CLS_CODE": "0", "fid_cond_mrkt_div_code": "J", "fid_input_iscd": "000660"}
    annual = api.ok(endpoint, params)["output"]
    quarterly = api.ok(endpoint, {**params, "FID_DIV_CLS_CODE": "1"})["output"]
    assert annual and all(r["stac_yymm"].endswith("12") for r in annual)
    assert {r["stac_yymm"][4:] for r in quarterly} == {"03", "06", "09", "12"}
    periods = [r["stac_yymm"] for r in annual]
    assert periods == sorted(periods, reverse=True)
    assert all_strings(annual) and float(annual[0][field]) != 0


def test_dividend_schedule_filters_by_date_kind_and_symbol(api: Api) -> None:
    params = {
        "CTS": "",
        "GB1": "0",
        "F_DT": "20230101",
        "T_DT": "20231231",
        "SHT_CD": "",
        "HIGH_GB": "",
    }
    rows = api.ok(DIVIDEND, params)["output1"]
    assert rows and all("20230101" <= r["record_date"] <= "20231231" for r in rows)
    assert len({r["sht_cd"] for r in rows}) > 1 and all_strings(rows)
    year_end = api.ok(DIVIDEND, {**params, "GB1": "1"})["output1"]
    assert year_end and {r["divi_kind"] for r in year_end} == {"결산"}
    one = api.ok(DIVIDEND, {**params, "SHT_CD": "005930"})["output1"]
    assert one and {r["sht_cd"] for r in one} == {"005930"}
    assert len(one[0]["face_val"]) == 9 and len(one[0]["per_sto_divi_amt"]) == 12


def test_chk_holiday_pages_with_continuation_keys(api: Api) -> None:
    params = {"BASS_DT": "20240501", "CTX_AREA_NK": "", "CTX_AREA_FK": ""}
    first = api.get(HOLIDAY, params)
    body = first.json()
    assert first.headers["tr_cont"] == "M" and isinstance(body["output"], list)
    rows = body["output"]
    assert 21 <= len(rows) <= 28 and rows[0]["bass_dt"] == "20240501"
    by_day = {r["bass_dt"]: r for r in rows}
    assert by_day["20240501"]["opnd_yn"] == "N"  # Labour Day: KRX closed
    assert by_day["20240504"]["opnd_yn"] == "N" and by_day["20240504"]["wday_dvsn_cd"] == "07"
    assert by_day["20240502"]["opnd_yn"] == "Y"
    nk = body["ctx_area_nk"]
    assert nk.strip() == rows[-1]["bass_dt"] and len(nk) == 20
    second = api.get(
        HOLIDAY, {**params, "CTX_AREA_NK": nk, "CTX_AREA_FK": body["ctx_area_fk"]}, tr_cont="N"
    ).json()
    next_day = dt.datetime.strptime(rows[-1]["bass_dt"], "%Y%m%d").date() + dt.timedelta(1)
    assert second["output"][0]["bass_dt"] == f"{next_day:%Y%m%d}"


def test_chk_holiday_ends_with_a_last_page(api: Api) -> None:
    params = {"BASS_DT": "20251220", "CTX_AREA_NK": "", "CTX_AREA_FK": ""}
    response = api.get(HOLIDAY, params)
    assert response.headers["tr_cont"] == "D"
    assert response.json()["output"][-1]["bass_dt"] == "20251231"


# ---- parameter errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "msg_cd"),
    [
        ({"FID_INPUT_DATE_1": "2024-01-01"}, "OPSQ2001"),
        ({"FID_INPUT_DATE_2": "20240231"}, "OPSQ2001"),
        ({"FID_COND_MRKT_DIV_CODE": "Q"}, "OPSQ2001"),
        ({"FID_ORG_ADJ_PRC": "7"}, "OPSQ2001"),
        ({"FID_INPUT_ISCD": "0" * 13}, "OPSQ2002"),
    ],
)
def test_bad_parameters_are_rejected_in_the_envelope(
    api: Api, change: dict[str, str], msg_cd: str
) -> None:
    params = {**chart_params("005930", dt.date(2024, 1, 1), SESSION, adjusted=True), **change}
    response = api.get(CHART, params)
    assert response.status_code == 200
    body = response.json()
    assert body["rt_cd"] != "0" and body["msg_cd"] == msg_cd


def test_a_missing_parameter_is_rejected(api: Api) -> None:
    params = chart_params("005930", dt.date(2024, 1, 1), SESSION, adjusted=True)
    del params["FID_PERIOD_DIV_CODE"]
    body = api.get(CHART, params).json()
    assert body["rt_cd"] != "0" and "FID_PERIOD_DIV_CODE" in body["msg1"]


def test_parameter_names_match_case_insensitively(api: Api) -> None:
    body = api.ok(PRICE, {"fid_cond_mrkt_div_code": "J", "fid_input_iscd": "000660"})
    assert body["output"]["stck_shrn_iscd"] == "000660"


def test_a_window_before_the_history_is_empty(api: Api) -> None:
    body = api.ok(
        CHART, chart_params("005930", dt.date(2010, 1, 1), dt.date(2010, 12, 31), adjusted=False)
    )
    assert body["output2"] == []
