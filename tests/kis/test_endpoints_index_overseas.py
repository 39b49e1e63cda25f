"""Index daily chart (§12.3) and overseas daily prices (§13.3): units, signs, window walking."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints.index import INDEX_CHART_PATH, fetch_index_daily
from kis_pipeline.kis.endpoints.overseas import OVERSEAS_DAILY_PATH, fetch_overseas_daily
from kis_pipeline.kis.errors import PayloadError
from tests.kis.endpoint_fakes import FakeClient, fixture, weekdays, window_server, ymd

D = dt.date


def index_bar(day: dt.date) -> dict[str, str]:
    return {
        "stck_bsop_date": day.strftime("%Y%m%d"),
        "bstp_nmix_prpr": "2700.00",
        "bstp_nmix_oprc": "2690.00",
        "bstp_nmix_hgpr": "2710.50",
        "bstp_nmix_lwpr": "2680.25",
        "acml_vol": "400000",
        "acml_tr_pbmn": "9000000",
        "mod_yn": "N",
    }


def overseas_bar(day: dt.date) -> dict[str, str]:
    return {
        "xymd": day.strftime("%Y%m%d"),
        "clos": "100.5000",
        "sign": "5",
        "diff": "1.2500",
        "rate": "-1.23",
        "open": "101.0000",
        "high": "102.0000",
        "low": "99.5000",
        "tvol": "1000000",
        "tamt": "100500000",
    }


def test_index_fixture_units() -> None:
    client = FakeClient.scripted([fixture("index_chart_0001.json")])
    frame = fetch_index_daily(client, "0001", D(2024, 6, 4), D(2024, 6, 5))

    assert frame.schema == schemas.INDEX_DAILY
    assert frame["date"].to_list() == [D(2024, 6, 4), D(2024, 6, 5)]
    last = frame.row(1, named=True)
    assert last["close"] == pytest.approx(2701.60)
    assert last["volume"] == 412_300_000  # thousand shares -> shares
    assert last["value"] == 8_123_400_000_000  # KRW million -> KRW
    assert last["index_code"] == "0001"
    (call,) = client.calls
    assert call.path == INDEX_CHART_PATH
    assert call.tr_id == "FHKUP03500100"
    assert call.params == {
        "FID_COND_MRKT_DIV_CODE": "U",
        "FID_INPUT_ISCD": "0001",
        "FID_INPUT_DATE_1": "20240604",
        "FID_INPUT_DATE_2": "20240605",
        "FID_PERIOD_DIV_CODE": "D",
    }


def test_index_walks_back_50_per_call() -> None:
    days = weekdays(D(2024, 1, 1), D(2024, 6, 28))  # 130 weekdays
    respond = window_server(
        days,
        index_bar,
        container="output2",
        page_rows=50,
        start_key="FID_INPUT_DATE_1",
        end_key="FID_INPUT_DATE_2",
    )
    client = FakeClient(respond)
    frame = fetch_index_daily(client, "1001", D(2024, 1, 1), D(2024, 6, 28))
    assert frame["date"].to_list() == days
    assert len(client.calls) == 3  # 50 + 50 + 30 (short page ends the walk)
    ends = [ymd(e) for e in client.params("FID_INPUT_DATE_2")]
    assert ends[1] == days[-50] - dt.timedelta(days=1)
    assert ends[2] == days[-100] - dt.timedelta(days=1)


def test_index_missing_required_field() -> None:
    body = fixture("index_chart_0001.json")
    del body["output2"][0]["bstp_nmix_prpr"]
    with pytest.raises(PayloadError, match=r"FHKUP03500100.*'bstp_nmix_prpr'"):
        fetch_index_daily(FakeClient.scripted([body]), "0001", D(2024, 6, 4), D(2024, 6, 5))


def test_overseas_fixture_signs_and_types() -> None:
    client = FakeClient.scripted([fixture("overseas_daily_NAS_AAPL.json")])
    frame = fetch_overseas_daily(client, "NAS", "AAPL", D(2024, 6, 3), D(2024, 6, 5))

    assert frame.schema == schemas.OVERSEAS_DAILY_PRICES
    assert frame["date"].to_list() == [D(2024, 6, 3), D(2024, 6, 4), D(2024, 6, 5)]
    assert frame["change"].to_list() == [0.0, -0.63, 1.42]  # unsigned diff + sign code
    assert frame["change_rate"].to_list() == [0.0, -0.32, 0.73]
    assert frame["currency"].unique().to_list() == ["USD"]
    first = frame.row(0, named=True)
    assert first["volume"] == 0
    assert first["value_local"] is None
    assert frame.row(2, named=True)["close"] == pytest.approx(195.87)
    (call,) = client.calls
    assert call.path == OVERSEAS_DAILY_PATH
    assert call.tr_id == "HHDFS76240000"
    assert call.params == {
        "AUTH": "",
        "EXCD": "NAS",
        "SYMB": "AAPL",
        "GUBN": "0",
        "BYMD": "20240605",
        "MODP": "0",
        "KEYB": "",
    }


def test_overseas_walks_bymd_back() -> None:
    days = weekdays(D(2023, 10, 2), D(2024, 6, 28))
    respond = window_server(
        days, overseas_bar, container="output2", page_rows=100, start_key=None, end_key="BYMD"
    )
    client = FakeClient(respond)
    start = D(2023, 11, 1)
    frame = fetch_overseas_daily(client, "NYS", "IBM", start, D(2024, 6, 28), adjusted=True)

    expected = [d for d in days if d >= start]
    assert frame["date"].to_list() == expected
    assert frame["is_adjusted"].unique().to_list() == [True]
    bymds = [ymd(b) for b in client.params("BYMD")]
    assert bymds[0] == D(2024, 6, 28)
    assert bymds[1] == days[-100] - dt.timedelta(days=1)
    # the second page reaches back past `start`, so the walk stops there
    assert len(client.calls) == 2
    assert client.params("MODP") == ["1", "1"]
