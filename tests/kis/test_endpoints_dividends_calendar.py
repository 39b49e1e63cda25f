"""KSD dividends (§10.8) and the chk-holiday calendar (§11.1): windows and continuation."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints.calendar import HOLIDAY_PATH, fetch_trading_calendar
from kis_pipeline.kis.endpoints.dividends import DIVIDENDS_PATH, fetch_dividends
from kis_pipeline.kis.errors import PayloadError
from tests.kis.endpoint_fakes import Call, FakeClient, fixture, ok, ymd

D = dt.date


def test_dividends_fixture() -> None:
    client = FakeClient.scripted([fixture("dividends_window.json")])
    frame = fetch_dividends(client, D(2023, 1, 1), D(2023, 12, 31), symbol="005380")

    assert frame.schema == schemas.DIVIDENDS
    assert frame.height == 3
    first = frame.row(0, named=True)
    assert first["symbol"] == "005380"
    assert first["record_date"] == D(2023, 12, 31)
    assert first["pay_date"] == D(2024, 4, 12)  # "2024/04/12"
    assert first["dividend_kind"] == "year_end"
    assert first["dividend_per_share"] == 8400  # "000000008400"
    assert first["face_value"] == 5000
    assert first["cash_dividend_rate"] == pytest.approx(168.0)
    assert first["share_class"] == "common"
    assert first["is_high_dividend"] is True
    preferred = frame.row(1, named=True)
    assert preferred["pay_date"] is None and preferred["is_high_dividend"] is None
    assert preferred["share_class"] == "preferred"
    quarterly = frame.row(2, named=True)
    assert quarterly["dividend_kind"] == "quarterly"
    assert quarterly["pay_date"] == D(2023, 11, 17)
    (call,) = client.calls
    assert call.path == DIVIDENDS_PATH
    assert call.tr_id == "HHKDB669102C0"
    assert call.params == {
        "CTS": "",
        "GB1": "0",
        "F_DT": "20230101",
        "T_DT": "20231231",
        "SHT_CD": "005380",
        "HIGH_GB": "",
    }


def test_dividends_split_long_ranges() -> None:
    client = FakeClient(lambda call: ok(output1=[]))
    frame = fetch_dividends(client, D(2024, 1, 1), D(2024, 3, 15))
    assert frame.is_empty() and frame.schema == schemas.DIVIDENDS
    windows = [(c.params["F_DT"], c.params["T_DT"]) for c in client.calls]
    assert windows == [
        ("20240101", "20240131"),
        ("20240201", "20240302"),
        ("20240303", "20240315"),
    ]
    assert client.params("SHT_CD") == ["", "", ""]


def test_dividends_missing_required_field() -> None:
    body = fixture("dividends_window.json")
    del body["output1"][0]["per_sto_divi_amt"]
    with pytest.raises(PayloadError, match=r"HHKDB669102C0 ksdinfo-dividend.*'per_sto_divi_amt'"):
        fetch_dividends(FakeClient.scripted([body]), D(2023, 1, 1), D(2023, 12, 31))


def test_calendar_single_call_by_default() -> None:
    page1 = fixture("chk_holiday_page1.json")
    client = FakeClient.scripted([(page1, "M")])
    frame = fetch_trading_calendar(client, D(2024, 12, 23))

    assert frame.schema == schemas.TRADING_CALENDAR
    assert len(client.calls) == 1  # KIS asks for at most one call a day
    assert frame["date"].to_list()[0] == D(2024, 12, 23)
    assert frame.height == 14
    (call,) = client.calls
    assert call.path == HOLIDAY_PATH
    assert call.tr_id == "CTCA0903R"
    assert call.params == {"BASS_DT": "20241223", "CTX_AREA_NK": "", "CTX_AREA_FK": ""}
    assert call.tr_cont == ""

    by_day = {row["date"]: row for row in frame.iter_rows(named=True)}
    christmas = by_day[D(2024, 12, 25)]
    assert christmas["is_market_open"] is False and christmas["is_business_day"] is False
    year_end = by_day[D(2024, 12, 31)]
    assert year_end["is_business_day"] is True
    assert year_end["is_trading_day"] is False  # from opnd_yn, not tr_day_yn
    assert year_end["is_securities_business_day"] is True
    saturday = by_day[D(2024, 12, 28)]
    assert saturday["is_trading_day"] is False and saturday["is_settlement_day"] is False
    assert by_day[D(2024, 12, 30)]["is_trading_day"] is True


def test_calendar_follows_continuation_keys() -> None:
    page1, page2 = fixture("chk_holiday_page1.json"), fixture("chk_holiday_page2.json")
    client = FakeClient.scripted([(page1, "M"), (page2, "D")])
    frame = fetch_trading_calendar(client, D(2024, 12, 23), end=D(2025, 1, 12))

    assert frame["date"].to_list()[-1] == D(2025, 1, 12)
    assert frame.height == 21
    second = client.calls[1]
    assert second.tr_cont == "N"
    assert second.params["BASS_DT"] == "20241223"
    # the body's keys go back unchanged, padding included
    assert second.params["CTX_AREA_NK"] == page1["ctx_area_nk"]
    assert second.params["CTX_AREA_FK"] == page1["ctx_area_fk"]


def test_calendar_steps_base_date_without_continuation() -> None:
    pages = {
        "20241223": fixture("chk_holiday_page1.json"),
        "20250106": fixture("chk_holiday_page2.json"),
    }

    def respond(call: Call) -> tuple[dict, str]:
        return pages[call.params["BASS_DT"]], ""

    client = FakeClient(respond)
    frame = fetch_trading_calendar(client, D(2024, 12, 23), end=D(2025, 1, 10))
    assert client.params("BASS_DT") == ["20241223", "20250106"]
    assert [c.tr_cont for c in client.calls] == ["", ""]
    assert frame["date"].to_list()[-1] == D(2025, 1, 10)


def test_calendar_stops_when_no_progress() -> None:
    page1 = fixture("chk_holiday_page1.json")
    client = FakeClient(lambda call: (page1, ""))  # ignores BASS_DT
    frame = fetch_trading_calendar(client, D(2024, 12, 23), end=D(2025, 3, 31))
    assert len(client.calls) == 2
    assert frame["date"].max() == D(2025, 1, 5)


def test_calendar_call_cap() -> None:
    def respond(call: Call) -> tuple[dict, str]:
        base = ymd(call.params["BASS_DT"])
        days = [base + dt.timedelta(days=i) for i in range(7)]
        rows = [
            {
                "bass_dt": d.strftime("%Y%m%d"),
                "bzdy_yn": "Y",
                "tr_day_yn": "Y",
                "opnd_yn": "Y",
                "sttl_day_yn": "Y",
            }
            for d in days
        ]
        return ok(output=rows), ""

    client = FakeClient(respond)
    frame = fetch_trading_calendar(client, D(2025, 1, 1), end=D(2025, 12, 31), max_calls=3)
    assert len(client.calls) == 3
    assert frame.height == 21


def test_calendar_missing_required_field() -> None:
    page = fixture("chk_holiday_page2.json")
    del page["output"][3]["opnd_yn"]
    with pytest.raises(PayloadError, match=r"CTCA0903R chk-holiday.*'opnd_yn'"):
        fetch_trading_calendar(FakeClient.scripted([page]), D(2025, 1, 6))
