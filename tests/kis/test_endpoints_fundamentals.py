"""Financial statements and ratios (§10.1-10.3): KRW 100 million -> KRW, 99.99 placeholders."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints.fundamentals import (
    BALANCE_SHEET_PATH,
    fetch_balance_sheet,
    fetch_financial_ratios,
    fetch_income_statement,
)
from kis_pipeline.kis.errors import PayloadError
from tests.kis.endpoint_fakes import FakeClient, fixture

AS_OF = dt.date(2024, 6, 5)
EOK = 100_000_000  # KRW per 억원


def test_balance_sheet_units_and_placeholders() -> None:
    client = FakeClient.scripted([fixture("balance_sheet_005380.json")])
    frame = fetch_balance_sheet(client, "005380", as_of=AS_OF)

    assert frame.schema == schemas.BALANCE_SHEET
    assert frame["period"].to_list() == ["202312", "202212"]
    latest = frame.row(0, named=True)
    assert latest["as_of"] == AS_OF
    assert latest["period_type"] == "annual"
    assert latest["total_assets"] == 2_999_999 * EOK
    assert latest["capital"] == 14_890 * EOK
    assert latest["capital_surplus"] is None  # 99.99 placeholder
    assert latest["retained_earnings"] is None
    assert frame.row(1, named=True)["current_assets"] == 95_000_050_000_000  # 950000.50 억원
    (call,) = client.calls
    assert call.path == BALANCE_SHEET_PATH
    assert call.tr_id == "FHKST66430100"
    assert call.params == {
        "FID_DIV_CLS_CODE": "0",
        "fid_cond_mrkt_div_code": "J",
        "fid_input_iscd": "005380",
    }


def test_income_statement_quarterly() -> None:
    client = FakeClient.scripted([fixture("income_statement_005380.json")])
    frame = fetch_income_statement(client, "005380", period_type="quarter", as_of=AS_OF)

    assert frame.schema == schemas.INCOME_STATEMENT
    row = frame.row(0, named=True)
    assert row["period_type"] == "quarter"
    assert row["revenue"] == 405_000 * EOK
    assert row["gross_profit"] == 85_000 * EOK
    assert row["net_income"] == -1_234 * EOK
    assert row["depreciation"] is None and row["extraordinary_gain"] is None
    assert client.calls[0].tr_id == "FHKST66430200"
    assert client.calls[0].params["FID_DIV_CLS_CODE"] == "1"


def test_financial_ratios_keep_values() -> None:
    client = FakeClient.scripted([fixture("financial_ratios_005380.json")])
    frame = fetch_financial_ratios(client, "005380", as_of=AS_OF)

    assert frame.schema == schemas.FINANCIAL_RATIOS
    row = frame.row(0, named=True)
    assert row["roe"] == pytest.approx(13.70)
    assert row["eps"] == pytest.approx(47850.0)
    assert row["debt_ratio"] == pytest.approx(99.99)  # a ratio may really be 99.99 %
    assert row["sps"] == pytest.approx(769000.0)
    assert client.calls[0].tr_id == "FHKST66430300"


def test_as_of_defaults_to_today() -> None:
    client = FakeClient.scripted([fixture("financial_ratios_005380.json")])
    frame = fetch_financial_ratios(client, "005380")
    assert frame["as_of"].dtype.is_temporal()
    assert frame["as_of"].n_unique() == 1


def test_statement_missing_required_field() -> None:
    body = fixture("income_statement_005380.json")
    del body["output"][0]["thtr_ntin"]
    with pytest.raises(PayloadError, match=r"FHKST66430200 income-statement.*'thtr_ntin'"):
        fetch_income_statement(FakeClient.scripted([body]), "005380", as_of=AS_OF)


def test_bad_period_type() -> None:
    with pytest.raises(ValueError, match="period_type"):
        fetch_balance_sheet(FakeClient.scripted([]), "005380", period_type="monthly")  # type: ignore[arg-type]
