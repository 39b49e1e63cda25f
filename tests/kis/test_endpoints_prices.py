"""Current price (§7.1) and the daily chart (§7.3): parsing, units and end-date walking."""

from __future__ import annotations

import datetime as dt
import itertools

import polars as pl
import pytest

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints.prices import (
    CURRENT_PRICE_PATH,
    DAILY_CHART_PATH,
    fetch_current_price,
    fetch_daily_chart,
)
from kis_pipeline.kis.errors import PayloadError
from tests.kis.endpoint_fakes import (
    Answer,
    Call,
    FakeClient,
    fixture,
    ok,
    weekdays,
    window_server,
    ymd,
)

D = dt.date


def bar(day: dt.date, close: int = 10_000, *, adjusted: bool = False) -> dict[str, str]:
    price = str(close // 2 if adjusted else close)
    return {
        "stck_bsop_date": day.strftime("%Y%m%d"),
        "stck_clpr": price,
        "stck_oprc": price,
        "stck_hgpr": price,
        "stck_lwpr": price,
        "acml_vol": "1000",
        "acml_tr_pbmn": "10000000",
        "flng_cls_code": "00",
        "prtt_rate": "0.00",
        "mod_yn": "N",
        "prdy_vrss_sign": "3",
        "prdy_vrss": "0",
        "revl_issu_reas": "",
    }


def chart_server(days: list[dt.date], *, adjusted_halves: bool = False) -> FakeClient:
    """Original bars close at 10,000; adjusted ones (FID_ORG_ADJ_PRC=0) at half that."""

    def respond(call: Call) -> Answer:
        halve = adjusted_halves and call.params["FID_ORG_ADJ_PRC"] == "0"
        server = window_server(
            days,
            lambda d: bar(d, adjusted=halve),
            container="output2",
            page_rows=100,
            start_key="FID_INPUT_DATE_1",
            end_key="FID_INPUT_DATE_2",
        )
        return server(call)

    return FakeClient(respond)


def test_daily_chart_fixture_schema_units_and_strings() -> None:
    client = FakeClient.scripted([fixture("daily_chart_005380.json")])
    frame = fetch_daily_chart(client, "005380", D(2024, 6, 3), D(2024, 6, 5), adjusted=False)

    assert frame.schema == schemas.DAILY_PRICES
    assert frame["date"].to_list() == [D(2024, 6, 3), D(2024, 6, 4), D(2024, 6, 5)]
    last = frame.row(2, named=True)
    assert last["open"] == 246000  # "246000 " padded
    assert last["value"] == 125_800_000_000  # KRW already
    assert last["volume"] == 512345
    assert last["change"] == -1500
    assert last["revaluation_reason"] is None  # "" -> null
    assert last["venue"] == "KRX"
    assert frame.row(1, named=True)["split_ratio"] is None
    assert frame.row(1, named=True)["ex_rights_code"] == "02"
    assert frame.row(0, named=True)["is_modified"] is True
    assert frame["symbol"].unique().to_list() == ["005380"]

    (call,) = client.calls
    assert call.path == DAILY_CHART_PATH
    assert call.tr_id == "FHKST03010100"
    assert call.params == {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_INPUT_ISCD": "005380",
        "FID_INPUT_DATE_1": "20240603",
        "FID_INPUT_DATE_2": "20240605",
        "FID_PERIOD_DIV_CODE": "D",
        "FID_ORG_ADJ_PRC": "1",
    }


def test_daily_chart_walks_end_date_back_100_per_call() -> None:
    days = weekdays(D(2023, 1, 2), D(2024, 6, 28))
    client = chart_server(days)
    start, end = D(2023, 1, 2), D(2024, 6, 28)
    frame = fetch_daily_chart(client, "005930", start, end, adjusted=False)

    assert frame["date"].to_list() == days
    assert len(days) == 390
    # 390 bars: 100 + 100 + 100 + 90; the short last page ends the walk without a 5th call.
    assert len(client.calls) == 4
    assert client.params("FID_INPUT_DATE_1") == ["20230102"] * 4
    ends = client.params("FID_INPUT_DATE_2")
    assert ends[0] == "20240628"
    for previous, following in itertools.pairwise(ends):
        oldest_of_previous = sorted(d for d in days if d <= ymd(previous))[-100]
        assert ymd(following) == oldest_of_previous - dt.timedelta(days=1)


def test_daily_chart_stops_on_empty_page() -> None:
    # A full page that exactly reaches the first bar, then the server has nothing older.
    days = weekdays(D(2024, 1, 1), D(2024, 5, 17))[-100:]
    client = chart_server(days)
    frame = fetch_daily_chart(client, "005930", D(2020, 1, 1), days[-1], adjusted=False)
    assert frame.height == 100
    assert len(client.calls) == 2
    assert client.params("FID_INPUT_DATE_2")[1] == (days[0] - dt.timedelta(days=1)).strftime(
        "%Y%m%d"
    )


def test_daily_chart_stops_when_page_reaches_start() -> None:
    days = weekdays(D(2024, 1, 1), D(2024, 12, 31))
    client = chart_server(days)
    start = days[-100]
    frame = fetch_daily_chart(client, "005930", start, days[-1], adjusted=False)
    assert frame.height == 100
    assert len(client.calls) == 1


def test_daily_chart_window_that_does_not_move_back_is_caught() -> None:
    page = ok(output2=[bar(d) for d in reversed(weekdays(D(2024, 1, 1), D(2024, 6, 30)))][:100])
    client = FakeClient(lambda call: page)  # ignores the end date: would loop forever
    with pytest.raises(PayloadError, match="no progress"):
        fetch_daily_chart(client, "005930", D(2020, 1, 1), D(2024, 6, 30), adjusted=False)
    assert len(client.calls) == 2


def test_daily_chart_adjusted_has_adj_factor() -> None:
    days = weekdays(D(2024, 6, 3), D(2024, 6, 14))
    client = chart_server(days, adjusted_halves=True)
    frame = fetch_daily_chart(client, "005930", days[0], days[-1], adjusted=True)

    assert frame.schema == schemas.DAILY_PRICES_ADJUSTED
    assert frame["adj_factor"].to_list() == [0.5] * len(days)
    assert frame["close"].to_list() == [5000] * len(days)
    assert client.params("FID_ORG_ADJ_PRC") == ["0", "1"]


def test_daily_chart_adjusted_reuses_original_frame() -> None:
    days = weekdays(D(2024, 6, 3), D(2024, 6, 14))
    client = chart_server(days, adjusted_halves=True)
    original = fetch_daily_chart(client, "005930", days[0], days[-1], adjusted=False)
    frame = fetch_daily_chart(client, "005930", days[0], days[-1], adjusted=True, original=original)
    assert client.params("FID_ORG_ADJ_PRC") == ["1", "0"]
    assert frame["adj_factor"].to_list() == [0.5] * len(days)


def test_daily_chart_missing_required_field() -> None:
    body = fixture("daily_chart_005380.json")
    del body["output2"][1]["stck_clpr"]
    client = FakeClient.scripted([body])
    with pytest.raises(PayloadError) as info:
        fetch_daily_chart(client, "005380", D(2024, 6, 3), D(2024, 6, 5), adjusted=False)
    message = str(info.value)
    assert "'stck_clpr'" in message
    assert "FHKST03010100" in message
    assert "inquire-daily-itemchartprice" in message


def test_daily_chart_output2_as_object_and_empty() -> None:
    single = ok(output2=bar(D(2024, 6, 5)))
    client = FakeClient.scripted([single])
    frame = fetch_daily_chart(client, "005930", D(2024, 6, 5), D(2024, 6, 5), adjusted=False)
    assert frame.height == 1

    client = FakeClient.scripted([ok(output2=[{}])])
    frame = fetch_daily_chart(client, "005930", D(2024, 6, 5), D(2024, 6, 5), adjusted=False)
    assert frame.is_empty()
    assert frame.schema == schemas.DAILY_PRICES


def test_daily_chart_zero_open_is_null() -> None:
    untraded = {
        **bar(D(2024, 6, 5)),
        "stck_oprc": "0",
        "stck_hgpr": "0",
        "stck_lwpr": "0",
        "acml_vol": "0",
        "acml_tr_pbmn": "0",
        "mod_yn": "Y",
    }
    client = FakeClient.scripted([ok(output2=[untraded])])
    frame = fetch_daily_chart(client, "005930", D(2024, 6, 5), D(2024, 6, 5), adjusted=False)
    row = frame.row(0, named=True)
    assert (row["open"], row["high"], row["low"]) == (None, None, None)
    assert row["close"] == 10_000 and row["volume"] == 0 and row["is_modified"] is True


def test_current_price_units_and_schema() -> None:
    client = FakeClient.scripted([fixture("current_price_005380.json")])
    frame = fetch_current_price(client, "005380")

    assert frame.schema == schemas.CURRENT_PRICE
    row = frame.row(0, named=True)
    assert row["symbol"] == "005380"  # padded echo stripped
    assert row["price"] == 245000
    assert row["market_cap"] == 517321 * 100_000_000  # KRW 100 million -> KRW
    assert row["capital"] == 14890 * 100_000_000
    assert row["vwap"] == pytest.approx(245533.12)
    assert row["w52_high_date"] == D(2024, 3, 27)
    assert row["d250_high"] is None  # absent optional field
    assert row["is_halted"] is False
    (call,) = client.calls
    assert call.path == CURRENT_PRICE_PATH
    assert call.tr_id == "FHKST01010100"
    assert call.params == {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005380"}


def test_current_price_missing_required() -> None:
    body = fixture("current_price_005380.json")
    del body["output"]["acml_vol"]
    with pytest.raises(PayloadError, match=r"FHKST01010100 inquire-price.*'acml_vol'"):
        fetch_current_price(FakeClient.scripted([body]), "005380")


def test_frames_are_never_text_for_numbers() -> None:
    client = FakeClient.scripted([fixture("daily_chart_005380.json")])
    frame = fetch_daily_chart(client, "005380", D(2024, 6, 3), D(2024, 6, 5), adjusted=False)
    text_columns = {c for c, t in frame.schema.items() if t == pl.String}
    assert text_columns == {
        "symbol",
        "venue",
        "ex_rights_code",
        "revaluation_reason",
        "quality_flag",
    }
