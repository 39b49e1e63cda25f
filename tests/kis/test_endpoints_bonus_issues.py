"""The KSD bonus-issue schedule (ksdinfo/bonus-issue): the declared fields and units, record-date
windows of all issues, and a garbled rate refused alone."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints.bonus_issues import BONUS_ISSUES_PATH, fetch_bonus_issues
from kis_pipeline.kis.errors import PayloadError
from kis_pipeline.kis.rejects import RejectLog
from tests.kis.endpoint_fakes import FakeClient, fixture, ok

D = dt.date


def test_rows_become_typed_columns_in_won_shares_and_percent() -> None:
    client = FakeClient.scripted([fixture("bonus_issues_window.json")])
    frame = fetch_bonus_issues(client, D(2025, 3, 1), D(2025, 3, 31))

    assert frame.schema == schemas.BONUS_ISSUES
    assert frame.height == 3
    first = frame.row(0, named=True)
    assert first == {
        "record_date": D(2025, 3, 4),
        "symbol": "071620",
        "share_class": "common",
        "ex_date": D(2025, 2, 28),
        "fix_rate": 100.0,
        "odd_lot_price": 6800,
        "odd_lot_pay_date": D(2025, 3, 25),  # "2025/03/25"
        "list_date": D(2025, 3, 25),
        "total_shares": 56_820_500,
        "new_shares": 56_820_500,
    }
    assert frame["share_class"].to_list() == ["common", "common", "preferred"]
    assert frame["odd_lot_pay_date"].to_list()[1:] == [None, None]
    (call,) = client.calls
    assert call.path == BONUS_ISSUES_PATH and call.tr_id == "HHKDB669101C0"
    assert call.params == {"CTS": "", "F_DT": "20250301", "T_DT": "20250331", "SHT_CD": ""}


def test_a_year_is_asked_in_record_date_windows() -> None:
    client = FakeClient(lambda call: ok(output1=[]))
    frame = fetch_bonus_issues(client, D(2025, 1, 1), D(2025, 3, 15))
    assert frame.is_empty() and frame.schema == schemas.BONUS_ISSUES
    windows = [(c.params["F_DT"], c.params["T_DT"]) for c in client.calls]
    assert windows == [
        ("20250101", "20250131"),
        ("20250201", "20250303"),
        ("20250304", "20250315"),
    ]


@pytest.mark.parametrize("rate", ["1OO.00", "", "-50.00", "0"])
def test_a_garbled_rate_is_refused_alone(rate: str) -> None:
    body = fixture("bonus_issues_window.json")
    body["output1"][1]["fix_rate"] = rate
    client = FakeClient(lambda _call: body)
    client.rejects = RejectLog()  # type: ignore[attr-defined]

    frame = fetch_bonus_issues(client, D(2025, 3, 1), D(2025, 3, 31))

    assert frame["symbol"].to_list() == ["071620", "330795"]
    [reject] = client.rejects.records()  # type: ignore[attr-defined]
    assert reject.table == "bonus_issues" and reject.symbol == "330790"
    assert "fix_rate" in (reject.field or "")


def test_a_missing_field_is_a_changed_format() -> None:
    body = fixture("bonus_issues_window.json")
    del body["output1"][0]["right_dt"]
    with pytest.raises(PayloadError, match=r"HHKDB669101C0 ksdinfo-bonus-issue.*'right_dt'"):
        fetch_bonus_issues(FakeClient.scripted([body]), D(2025, 3, 1), D(2025, 3, 31))
