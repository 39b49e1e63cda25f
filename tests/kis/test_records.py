"""The validation step: a page splits into rows that meet their table's rules and rejects that
keep the raw record; one bad record costs that record only."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import polars as pl
import pytest

from kis_pipeline.kis.endpoints import fetch_daily_chart
from kis_pipeline.kis.endpoints.index import INDEX_BARS
from kis_pipeline.kis.endpoints.prices import DAILY_BARS
from kis_pipeline.kis.errors import PayloadError
from kis_pipeline.kis.records import PRICE_JUMP, Source, split_rows
from kis_pipeline.kis.rejects import RejectLog
from tests.kis.endpoint_fakes import FakeClient, ok

SOURCE = Source("inquire-daily-itemchartprice", "FHKST03010100", "FHKST03010100 chart output2")
CONSTANTS = {"symbol": "005930", "venue": "KRX"}


def bar(day: str, close: int = 70_000, **fields: str) -> dict[str, str]:
    """One daily-chart record as KIS sends it, with a healthy bar around `close`."""
    record = {
        "stck_bsop_date": day,
        "stck_oprc": str(close - 500),
        "stck_hgpr": str(close + 1_000),
        "stck_lwpr": str(close - 1_000),
        "stck_clpr": str(close),
        "acml_vol": "1000000",
        "acml_tr_pbmn": str(close * 1_000_000),
        "prdy_vrss": "0",
        "flng_cls_code": "00",
        "prtt_rate": "0.00",
        "revl_issu_reas": "",
        "mod_yn": "N",
    }
    record.update(fields)
    return record


IMPOSSIBLE: dict[str, tuple[dict[str, str], str, str]] = {
    # case: (changed fields, offending field, words of the reason)
    "blank close": ({"stck_clpr": ""}, "stck_clpr", "close is blank"),
    "blank volume": ({"acml_vol": ""}, "acml_vol", "volume is blank"),
    "missing close": ({"stck_clpr": "<absent>"}, "stck_clpr", "missing"),
    "all prices 0": (
        {"stck_oprc": "0", "stck_hgpr": "0", "stck_lwpr": "0", "stck_clpr": "0"},
        "stck_clpr",
        "close is 0, not positive",
    ),
    "lone open 0": ({"stck_oprc": "0"}, "stck_oprc", "open is 0, not positive"),
    "negative close": ({"stck_clpr": "-100"}, "stck_clpr", "not positive"),
    "negative volume": ({"acml_vol": "-5"}, "acml_vol", "volume is -5, negative"),
    "high below low": ({"stck_hgpr": "1"}, "stck_lwpr,stck_hgpr", "high 1 is below low"),
    "close above high": ({"stck_clpr": "700000"}, "stck_clpr,stck_hgpr", "is below close"),
    "30-digit close": ({"stck_clpr": "1" * 30}, "stck_clpr", "more than 18 digits"),
    "30-digit volume": ({"acml_vol": "9" * 30}, "acml_vol", "more than 18 digits"),
    "fractional volume": ({"acml_vol": "1000.7"}, "acml_vol", "not a whole number"),
    "exponent volume": ({"acml_vol": "1e3"}, "acml_vol", "not a plain decimal number"),
    "garbage close": ({"stck_clpr": "abc"}, "stck_clpr", "not a plain decimal number"),
    "garbage date": ({"stck_bsop_date": "20241340"}, "stck_bsop_date", "not a date"),
    "blank date": ({"stck_bsop_date": ""}, "stck_bsop_date", "date is blank"),
}


def corrupted(changes: dict[str, str]) -> dict[str, str]:
    record = bar("20240605", **{k: v for k, v in changes.items() if v != "<absent>"})
    for name in [k for k, v in changes.items() if v == "<absent>"]:
        del record[name]
    return record


@pytest.mark.parametrize("case", list(IMPOSSIBLE))
def test_an_impossible_record_is_rejected_alone_with_its_raw_payload(case: str) -> None:
    changes, field, reason = IMPOSSIBLE[case]
    bad = corrupted(changes)
    healthy = [bar("20240604", 69_000), bar("20240607", 71_000)]

    split = split_rows([healthy[0], bad, healthy[1]], DAILY_BARS, SOURCE, constants=CONSTANTS)

    assert split.frame["date"].to_list() == [dt.date(2024, 6, 4), dt.date(2024, 6, 7)]
    assert split.frame["close"].to_list() == [69_000, 71_000]
    [reject] = split.rejects
    assert (reject.table, reject.symbol, reject.field) == ("daily_prices", "005930", field)
    assert reason in reject.reason
    assert json.loads(reject.raw) == bad
    assert (reject.endpoint, reject.tr_id) == (SOURCE.endpoint, SOURCE.tr_id)
    if "date" not in case:
        assert reject.date == dt.date(2024, 6, 5)


def test_documented_rules_store_what_kis_means() -> None:
    rows = [
        # A day without trades: open/high/low all 0 mean "no price".
        bar("20240603", stck_oprc="0", stck_hgpr="0", stck_lwpr="0", acml_vol="0"),
        # A whole number written with a zero fraction is that number.
        bar("20240604", stck_clpr="70000.00"),
    ]
    split = split_rows(rows, DAILY_BARS, SOURCE, constants=CONSTANTS)
    assert split.rejects == []
    idle, whole = split.frame.to_dicts()
    assert (idle["open"], idle["high"], idle["low"], idle["close"]) == (None, None, None, 70_000)
    assert idle["volume"] == 0
    assert whole["close"] == 70_000


def test_index_volume_in_thousands_may_carry_a_fraction() -> None:
    record = {
        "stck_bsop_date": "20240605",
        "bstp_nmix_oprc": "2650.10",
        "bstp_nmix_hgpr": "2670.00",
        "bstp_nmix_lwpr": "2640.00",
        "bstp_nmix_prpr": "2660.55",
        "acml_vol": "1000.7",
        "acml_tr_pbmn": "9289660",
        "mod_yn": "N",
    }
    split = split_rows([record], INDEX_BARS, SOURCE, constants={"index_code": "0001"})
    assert split.rejects == []
    assert split.frame["volume"].to_list() == [1_000_700]


def chart_page(records: list[dict[str, str]]) -> dict[str, Any]:
    return ok(output1={}, output2=records)


class LoggingFake(FakeClient):
    """A fake client that keeps a reject log, as `KisClient` does."""

    rejects: RejectLog


def test_a_spike_is_stored_and_flagged_and_the_day_after_is_not() -> None:
    closes = {"20240603": 70_000, "20240604": 71_000, "20240605": 710_000, "20240607": 71_500}
    # Newest first, as KIS answers; the spike is a consistent bar ten times the others.
    page = [bar(day, close, prdy_vrss="500") for day, close in reversed(closes.items())]
    client = LoggingFake.scripted([chart_page(page)])
    client.rejects = RejectLog()

    frame = fetch_daily_chart(
        client, "005930", dt.date(2024, 6, 3), dt.date(2024, 6, 7), adjusted=False
    )  # type: ignore[arg-type]

    assert frame["close"].to_list() == list(closes.values())
    assert frame["quality_flag"].to_list() == [None, None, PRICE_JUMP, None]
    assert len(client.rejects) == 0


def test_a_split_day_is_not_a_suspicious_jump() -> None:
    page = [
        bar("20240604", 14_000, prdy_vrss="-56000", flng_cls_code="01", prtt_rate="0.20"),
        bar("20240603", 70_000),
    ]
    client = LoggingFake.scripted([chart_page(page)])
    client.rejects = RejectLog()
    frame = fetch_daily_chart(
        client, "005930", dt.date(2024, 6, 3), dt.date(2024, 6, 4), adjusted=False
    )  # type: ignore[arg-type]
    assert frame["quality_flag"].to_list() == [None, None]


def test_a_bad_record_costs_that_record_only_and_never_stops_the_walk() -> None:
    """A walk of 100-bar pages: a rejected record still counts towards its page and its date
    towards how far the page reached, so the older page is fetched and nothing is asked twice."""
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(150)]
    records = {d: bar(d.strftime("%Y%m%d")) for d in days}
    # The oldest record of the newest page is the broken one.
    records[days[50]] = bar(days[50].strftime("%Y%m%d"), stck_clpr="1" * 30)

    def respond(call: Any) -> dict[str, Any]:
        end = dt.datetime.strptime(call.params["FID_INPUT_DATE_2"], "%Y%m%d").date()
        window = [d for d in reversed(days) if d <= end][:100]
        return chart_page([records[d] for d in window])

    client = LoggingFake(respond)
    client.rejects = RejectLog()
    frame = fetch_daily_chart(client, "005930", days[0], days[-1], adjusted=False)  # type: ignore[arg-type]

    assert frame.height == 149
    assert days[50] not in frame["date"].to_list()
    assert [(r.date, r.field) for r in client.rejects.records()] == [(days[50], "stck_clpr")]
    assert len(client.calls) == 2


def test_without_a_reject_log_a_bad_record_raises_naming_field_and_value() -> None:
    client = FakeClient.scripted([chart_page([bar("20240605", acml_vol="1000.7")])])
    with pytest.raises(PayloadError, match=r"FHKST03010100.*'acml_vol'.*'1000\.7'"):
        fetch_daily_chart(
            client, "005930", dt.date(2024, 6, 5), dt.date(2024, 6, 5), adjusted=False
        )  # type: ignore[arg-type]


def test_every_value_of_a_stored_row_is_typed() -> None:
    split = split_rows([bar("20240605")], DAILY_BARS, SOURCE, constants=CONSTANTS)
    assert split.frame.schema == DAILY_BARS.schema
    assert split.frame.select(pl.col("quality_flag").is_null().all()).item()
