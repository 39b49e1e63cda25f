"""The KSD capital-reduction schedule (ksdinfo/cap-dcrs): the declared fields and units,
record-date windows of all reductions, and a garbled ratio refused alone."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints.capital_reductions import (
    CAPITAL_REDUCTIONS_PATH,
    fetch_capital_reductions,
)
from kis_pipeline.kis.errors import PayloadError
from kis_pipeline.kis.rejects import RejectLog
from tests.kis.endpoint_fakes import FakeClient, fixture, ok

D = dt.date


def test_rows_become_typed_columns_with_the_kept_ratio() -> None:
    client = FakeClient.scripted([fixture("capital_reductions_window.json")])
    frame = fetch_capital_reductions(client, D(2025, 3, 1), D(2025, 3, 31))

    assert frame.schema == schemas.CAPITAL_REDUCTIONS
    assert frame.row(0, named=True) == {
        "record_date": D(2025, 3, 5),
        "symbol": "149240",
        "share_class": "common",
        "reduction_type": "무상",
        "kept_ratio": 0.1,
        "method": "단주 현금지급",
        "halt_period": "20250304~20250325",
        "list_date": D(2025, 3, 26),
    }
    assert frame["kept_ratio"].to_list() == [0.1, 0.5]
    (call,) = client.calls
    assert call.path == CAPITAL_REDUCTIONS_PATH and call.tr_id == "HHKDB669106C0"
    assert call.params == {"CTS": "", "F_DT": "20250301", "T_DT": "20250331", "SHT_CD": ""}


def test_a_year_is_asked_in_record_date_windows() -> None:
    client = FakeClient(lambda call: ok(output1=[]))
    frame = fetch_capital_reductions(client, D(2025, 1, 1), D(2025, 2, 10))
    assert frame.is_empty() and frame.schema == schemas.CAPITAL_REDUCTIONS
    windows = [(c.params["F_DT"], c.params["T_DT"]) for c in client.calls]
    assert windows == [("20250101", "20250131"), ("20250201", "20250210")]


@pytest.mark.parametrize("ratio", ["O.1000", "", "-0.1000", "0"])
def test_a_garbled_ratio_is_refused_alone(ratio: str) -> None:
    body = fixture("capital_reductions_window.json")
    body["output1"][0]["reduce_cap_rate"] = ratio
    client = FakeClient(lambda _call: body)
    client.rejects = RejectLog()  # type: ignore[attr-defined]

    frame = fetch_capital_reductions(client, D(2025, 3, 1), D(2025, 3, 31))

    assert frame["symbol"].to_list() == ["725620"]
    [reject] = client.rejects.records()  # type: ignore[attr-defined]
    assert reject.table == "capital_reductions" and reject.symbol == "149240"
    assert reject.field == "reduce_cap_rate"


def test_a_missing_field_is_a_changed_format() -> None:
    body = fixture("capital_reductions_window.json")
    del body["output1"][0]["list_dt"]
    with pytest.raises(PayloadError, match=r"HHKDB669106C0 ksdinfo-cap-dcrs.*'list_dt'"):
        fetch_capital_reductions(FakeClient.scripted([body]), D(2025, 3, 1), D(2025, 3, 31))
