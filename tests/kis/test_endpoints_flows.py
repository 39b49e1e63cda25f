"""Investor flows per stock (§9.3) and per market (§9.1): units and date walking."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints.flows import (
    MARKET_FLOWS_PATH,
    STOCK_FLOWS_PATH,
    fetch_investor_flows,
    fetch_market_investor_flows,
)
from kis_pipeline.kis.errors import PayloadError
from tests.kis.endpoint_fakes import Call, FakeClient, fixture, ok, weekdays, ymd

D = dt.date


def test_stock_flows_fixture_units() -> None:
    client = FakeClient.scripted([fixture("investor_flows_005930.json")])
    frame = fetch_investor_flows(client, "005930", D(2024, 6, 4), D(2024, 6, 5))

    assert frame.schema == schemas.INVESTOR_FLOWS
    assert frame["date"].to_list() == [D(2024, 6, 4), D(2024, 6, 5)]
    row = frame.row(1, named=True)
    assert row["foreign_net_volume"] == -202_980  # shares
    assert row["foreign_net_value"] == -14_436 * 1_000_000  # KRW million -> KRW
    assert row["individual_net_value"] == 12_011 * 1_000_000
    assert row["institution_net_volume"] == -57_182
    assert row["other_corp_net_value"] == 6_515 * 1_000_000
    assert row["individual_buy_volume"] - row["individual_sell_volume"] == 168_627
    assert row["foreign_buy_value"] - row["foreign_sell_value"] == -14_436 * 1_000_000
    assert row["value"] == 80_847_007_865  # acml_tr_pbmn is KRW already
    assert row["close"] == 71000
    assert row["venue"] == "KRX"
    (call,) = client.calls
    assert call.path == STOCK_FLOWS_PATH
    assert call.tr_id == "FHPTJ04160001"
    assert call.params == {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_INPUT_ISCD": "005930",
        "FID_INPUT_DATE_1": "20240605",
        "FID_ORG_ADJ_PRC": "",
        "FID_ETC_CLS_CODE": "1",
    }


def flow_server(days: list[dt.date], rows_per_call: int) -> FakeClient:
    template = fixture("investor_flows_005930.json")["output2"][0]

    def respond(call: Call) -> dict:
        end = ymd(call.params["FID_INPUT_DATE_1"])
        chosen = sorted((d for d in days if d <= end), reverse=True)[:rows_per_call]
        return ok(output2=[{**template, "stck_bsop_date": d.strftime("%Y%m%d")} for d in chosen])

    return FakeClient(respond)


def test_stock_flows_walk_date_back_until_start() -> None:
    days = weekdays(D(2024, 1, 1), D(2024, 6, 28))
    client = flow_server(days, rows_per_call=30)
    start = D(2024, 3, 4)
    frame = fetch_investor_flows(client, "005930", start, D(2024, 6, 28))

    assert frame["date"].to_list() == [d for d in days if d >= start]
    dates = [ymd(d) for d in client.params("FID_INPUT_DATE_1")]
    assert dates[0] == D(2024, 6, 28)
    assert dates[1] == days[-30] - dt.timedelta(days=1)
    assert dates[2] == days[-60] - dt.timedelta(days=1)
    assert len(client.calls) == 3  # the third page reaches before 2024-03-04


def test_stock_flows_stop_when_history_ends() -> None:
    days = weekdays(D(2024, 6, 3), D(2024, 6, 28))  # listed 2024-06-03
    client = flow_server(days, rows_per_call=30)
    frame = fetch_investor_flows(client, "005930", D(2024, 1, 1), D(2024, 6, 28))
    assert frame.height == len(days)
    assert len(client.calls) == 2  # 20 rows, then an empty page


def test_market_flows_units() -> None:
    client = FakeClient.scripted([fixture("market_investor_flows_kospi.json")])
    frame = fetch_market_investor_flows(client, "KOSPI", D(2024, 6, 4), D(2024, 6, 5))

    assert frame.schema == schemas.MARKET_INVESTOR_FLOWS
    row = frame.row(1, named=True)
    assert row["market"] == "KOSPI"
    assert row["foreign_net_volume"] == -12_565_000  # thousand shares -> shares
    assert row["foreign_net_value"] == -397_490_000_000  # KRW million -> KRW
    assert row["index_close"] == pytest.approx(2724.62)
    nets = ("individual", "foreign", "institution", "other_corp")
    assert sum(row[f"{g}_net_value"] for g in nets) == 0
    (call,) = client.calls
    assert call.path == MARKET_FLOWS_PATH
    assert call.tr_id == "FHPTJ04040000"
    assert call.params == {
        "FID_COND_MRKT_DIV_CODE": "U",
        "FID_INPUT_ISCD": "0001",
        "FID_INPUT_DATE_1": "20240605",
        "FID_INPUT_ISCD_1": "KSP",
        "FID_INPUT_DATE_2": "20240605",
        "FID_INPUT_ISCD_2": "0001",
    }


def test_market_flows_kosdaq_codes_and_missing_field() -> None:
    body = fixture("market_investor_flows_kospi.json")
    del body["output"][0]["orgn_ntby_tr_pbmn"]
    client = FakeClient.scripted([body])
    with pytest.raises(PayloadError, match=r"FHPTJ04040000.*'orgn_ntby_tr_pbmn'"):
        fetch_market_investor_flows(client, "KOSDAQ", D(2024, 6, 4), D(2024, 6, 5))
    assert client.calls[0].params["FID_INPUT_ISCD"] == "1001"
    assert client.calls[0].params["FID_INPUT_ISCD_1"] == "KSQ"
