"""Multi-symbol quote (§7.11): batching by 30, mapping by returned code, unknown codes."""

from __future__ import annotations

import logging

import pytest

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints.quotes import (
    MULTI_QUOTE_PATH,
    fetch_multi_quote,
    unknown_symbols,
)
from kis_pipeline.kis.errors import PayloadError
from tests.kis.endpoint_fakes import Call, FakeClient, fixture, ok

BLANK_ROW = {key: "" for key in fixture("multi_quote_unknown_code.json")["output"][1]}


def quote_row(symbol: str, price: int) -> dict[str, str]:
    row = dict(fixture("multi_quote_unknown_code.json")["output"][0])
    row.update(inter_shrn_iscd=symbol, inter_kor_isnm=f"name-{symbol}", inter2_prpr=str(price))
    # A bar around the price, so that the row is a possible quote.
    row.update(inter2_oprc=str(price), inter2_hgpr=str(price + 10), inter2_lwpr=str(price - 10))
    return row


def requested(call: Call) -> list[str]:
    slots = sorted(
        int(key.rsplit("_", 1)[1]) for key in call.params if key.startswith("FID_INPUT_ISCD_")
    )
    assert slots == list(range(1, len(slots) + 1)), "slots must be consecutive from 1"
    return [call.params[f"FID_INPUT_ISCD_{n}"] for n in slots]


def quote_server(unknown: frozenset[str] = frozenset(), *, reverse: bool = False) -> FakeClient:
    def respond(call: Call) -> dict:
        symbols = requested(call)
        # Real KIS silently drops a 31st symbol: the fake does too.
        rows = [BLANK_ROW if s in unknown else quote_row(s, 1000 + int(s)) for s in symbols[:30]]
        return ok(output=list(reversed(rows)) if reverse else rows)

    return FakeClient(respond)


def test_unknown_code_fixture() -> None:
    client = FakeClient.scripted([fixture("multi_quote_unknown_code.json")])
    frame = fetch_multi_quote(client, ["005380", "999998", "003490"])

    assert frame.schema == schemas.MULTI_QUOTE
    assert frame["symbol"].to_list() == ["005380", "999998", "003490"]
    assert frame["found"].to_list() == [True, False, True]
    assert unknown_symbols(frame) == ["999998"]
    unknown = frame.row(1, named=True)
    assert all(unknown[c] is None for c in ("price", "name", "volume", "value", "is_traded"))

    hyundai = frame.row(0, named=True)
    assert hyundai["price"] == 245000.0
    assert hyundai["value"] == 125_800_000_000
    assert hyundai["base_price"] == 246500.0
    assert hyundai["is_traded"] is True
    assert hyundai["venue"] == "KRX"

    halted = frame.row(2, named=True)
    assert halted["price"] == 21350.0
    assert halted["open"] is None and halted["high"] is None and halted["low"] is None
    assert halted["bid"] is None
    assert halted["is_traded"] is False
    assert halted["volume"] == 0

    (call,) = client.calls
    assert call.path == MULTI_QUOTE_PATH
    assert call.tr_id == "FHKST11300006"
    assert call.params == {
        "FID_COND_MRKT_DIV_CODE_1": "J",
        "FID_INPUT_ISCD_1": "005380",
        "FID_COND_MRKT_DIV_CODE_2": "J",
        "FID_INPUT_ISCD_2": "999998",
        "FID_COND_MRKT_DIV_CODE_3": "J",
        "FID_INPUT_ISCD_3": "003490",
    }


def test_unknown_symbols_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    client = FakeClient.scripted([fixture("multi_quote_unknown_code.json")])
    with caplog.at_level(logging.WARNING):
        fetch_multi_quote(client, ["005380", "999998", "003490"])
    assert "999998" in caplog.text


def test_61_symbols_take_3_calls_and_none_is_lost() -> None:
    symbols = [f"{n:06d}" for n in range(100, 161)]
    client = quote_server(unknown=frozenset({"000130", "000160"}))
    frame = fetch_multi_quote(client, symbols)

    assert [len(requested(c)) for c in client.calls] == [30, 30, 1]
    assert [s for c in client.calls for s in requested(c)] == symbols
    assert frame["symbol"].to_list() == symbols
    assert frame.height == 61
    assert unknown_symbols(frame) == ["000130", "000160"]
    found = frame.filter("found")
    assert found["price"].to_list() == [1000.0 + int(s) for s in found["symbol"]]


def test_rows_are_mapped_by_code_not_position() -> None:
    client = quote_server(reverse=True)
    frame = fetch_multi_quote(client, ["000001", "000002", "000003"])
    assert frame["symbol"].to_list() == ["000001", "000002", "000003"]
    assert frame["price"].to_list() == [1001.0, 1002.0, 1003.0]


def test_duplicates_are_requested_once() -> None:
    client = quote_server()
    frame = fetch_multi_quote(client, ["000001", "000002", "000001"])
    assert requested(client.calls[0]) == ["000001", "000002"]
    assert frame["symbol"].to_list() == ["000001", "000002"]


def test_missing_row_without_blank_row_raises_naming_symbol() -> None:
    rows = [quote_row("000001", 1), quote_row("000002", 2)]
    client = FakeClient.scripted([ok(output=rows)])
    with pytest.raises(PayloadError, match="000003"):
        fetch_multi_quote(client, ["000001", "000002", "000003"])


def test_unrequested_code_raises() -> None:
    rows = [quote_row("000001", 1), quote_row("000009", 2)]
    client = FakeClient.scripted([ok(output=rows)])
    with pytest.raises(PayloadError, match="000009"):
        fetch_multi_quote(client, ["000001", "000002"])


def test_missing_required_field_names_it() -> None:
    row = quote_row("000001", 1)
    del row["inter2_sdpr"]
    client = FakeClient.scripted([ok(output=[row])])
    with pytest.raises(PayloadError, match=r"FHKST11300006 intstock-multprice.*'inter2_sdpr'"):
        fetch_multi_quote(client, ["000001"])


def test_empty_request_makes_no_call() -> None:
    client = quote_server()
    frame = fetch_multi_quote(client, [])
    assert frame.is_empty() and frame.schema == schemas.MULTI_QUOTE
    assert client.calls == []
