"""Rankings (§8.1-8.3): one schema, params as SPEC lists them, market cap in KRW."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints.rankings import (
    FLUCTUATION_RANK_PATH,
    MARKET_CAP_RANK_PATH,
    VOLUME_RANK_PATH,
    fetch_fluctuation_ranking,
    fetch_market_cap_ranking,
    fetch_volume_ranking,
)
from kis_pipeline.kis.errors import PayloadError
from tests.kis.endpoint_fakes import FakeClient, fixture

SESSION = dt.date(2024, 6, 5)


def test_volume_ranking() -> None:
    client = FakeClient.scripted([fixture("volume_rank.json")])
    frame = fetch_volume_ranking(client, SESSION)

    assert frame.schema == schemas.RANKINGS
    assert frame["rank"].to_list() == [1, 2]
    assert frame["symbol"].to_list() == ["005380", "003490"]
    assert set(frame["ranking"]) == {"volume"} and set(frame["source"]) == {"kis"}
    assert set(frame["date"]) == {SESSION}
    top = frame.row(0, named=True)
    assert top["volume"] == 9_512_345
    assert top["value"] == 2_330_500_000_000
    assert top["market_cap"] is None
    (call,) = client.calls
    assert call.path == VOLUME_RANK_PATH
    assert call.tr_id == "FHPST01710000"
    assert call.params == {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_COND_SCR_DIV_CODE": "20171",
        "FID_INPUT_ISCD": "0000",
        "FID_DIV_CLS_CODE": "0",
        "FID_BLNG_CLS_CODE": "0",
        "FID_TRGT_CLS_CODE": "111111111",
        "FID_TRGT_EXLS_CLS_CODE": "0000000000",
        "FID_INPUT_PRICE_1": "",
        "FID_INPUT_PRICE_2": "",
        "FID_VOL_CNT": "",
    }


@pytest.mark.parametrize(("direction", "code"), [("rise", "0"), ("fall", "1")])
def test_fluctuation_ranking(direction: str, code: str) -> None:
    client = FakeClient.scripted([fixture("fluctuation_rank.json")])
    frame = fetch_fluctuation_ranking(client, SESSION, direction=direction)  # type: ignore[arg-type]

    assert frame.schema == schemas.RANKINGS
    assert set(frame["ranking"]) == {direction}
    top = frame.row(0, named=True)
    assert top["symbol"] == "123456"
    assert top["change_rate"] == 30.0
    assert top["consecutive_up_days"] == 2
    assert top["high"] == 3900
    (call,) = client.calls
    assert call.path == FLUCTUATION_RANK_PATH
    assert call.tr_id == "FHPST01700000"
    assert list(call.params) == [
        "fid_rsfl_rate2",
        "fid_cond_mrkt_div_code",
        "fid_cond_scr_div_code",
        "fid_input_iscd",
        "fid_rank_sort_cls_code",
        "fid_input_cnt_1",
        "fid_prc_cls_code",
        "fid_input_price_1",
        "fid_input_price_2",
        "fid_vol_cnt",
        "fid_trgt_cls_code",
        "fid_trgt_exls_cls_code",
        "fid_div_cls_code",
        "fid_rsfl_rate1",
    ]
    assert call.params["fid_rank_sort_cls_code"] == code
    assert call.params["fid_cond_scr_div_code"] == "20170"
    assert call.params["fid_rsfl_rate1"] == ""


def test_market_cap_ranking_in_krw() -> None:
    client = FakeClient.scripted([fixture("market_cap_rank.json")])
    frame = fetch_market_cap_ranking(client, SESSION)

    assert frame.schema == schemas.RANKINGS
    top = frame.row(0, named=True)
    assert top["ranking"] == "market_cap"
    assert top["market_cap"] == 4_477_337 * 100_000_000  # KRW 100 million -> KRW
    assert top["listed_shares"] == 5_969_782_550
    assert top["market_cap_weight"] == pytest.approx(20.15)
    (call,) = client.calls
    assert call.path == MARKET_CAP_RANK_PATH
    assert call.tr_id == "FHPST01740000"
    assert call.params["fid_cond_scr_div_code"] == "20174"
    assert len(call.params) == 9


def test_ranking_missing_symbol_field() -> None:
    body = fixture("market_cap_rank.json")
    del body["output"][1]["mksc_shrn_iscd"]
    with pytest.raises(PayloadError, match=r"FHPST01740000 market-cap.*'mksc_shrn_iscd'"):
        fetch_market_cap_ranking(FakeClient.scripted([body]), SESSION)
