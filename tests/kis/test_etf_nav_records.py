"""The ETF NAV daily trend as the client sends and reads it: market J and the ETF's code, the
range's first day, a full page of 100 walked back, KIS's fields into the columns (the NAV with
its decimals, the close less the NAV, the premium in percent), a broken record refused."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.kis.endpoints.etf_nav import ETF_NAV, ETF_NAV_ROWS
from kis_pipeline.kis.records import Source, split_rows
from tests.kis.endpoint_fakes import FakeClient, ok

D = dt.date
SOURCE = Source("nav-comparison-daily-trend", "FHPST02440200", "test")


def record(day: str = "20261120", **overrides: str) -> dict[str, str]:
    row = {
        "stck_bsop_date": day,
        "stck_clpr": "35480",
        "prdy_vrss": "-215",
        "prdy_vrss_sign": "5",
        "prdy_ctrt": "-0.60",
        "acml_vol": "4120335",
        "cntg_vol": "51584",
        "dprt": "0.07",
        "nav_vrss_prpr": "24.12",
        "nav": "35455.88",
        "nav_prdy_vrss_sign": "5",
        "nav_prdy_vrss": "-230.41",
        "nav_prdy_ctrt": "-0.65",
    }
    return row | overrides


def test_a_record_becomes_a_row_with_the_nav_and_the_premium() -> None:
    split = split_rows([record()], ETF_NAV_ROWS, SOURCE, constants={"symbol": "069500"})
    assert split.rejects == []
    assert split.frame.row(0, named=True) == {
        "date": D(2026, 11, 20),
        "symbol": "069500",
        "close": 35480,
        "change": -215,
        "change_rate": -0.6,
        "volume": 4120335,
        "nav": 35455.88,
        "nav_change": -230.41,
        "nav_change_rate": -0.65,
        "close_vs_nav": 24.12,
        "premium_rate": 0.07,
    }


@pytest.mark.parametrize(
    "broken",
    [{"nav": ""}, {"nav": "0.00"}, {"stck_clpr": "0"}, {"dprt": "n/a"}, {"acml_vol": "-3"}],
)
def test_a_broken_record_is_refused(broken: dict[str, str]) -> None:
    split = split_rows([record(**broken)], ETF_NAV_ROWS, SOURCE, constants={"symbol": "069500"})
    assert split.frame.height == 0
    assert len(split.rejects) == 1


def test_a_range_sends_market_j_the_code_and_walks_back_past_a_full_page() -> None:
    days = [D(2026, 11, 20) - dt.timedelta(days=i) for i in range(100)]
    full = ok(output=[record(f"{d:%Y%m%d}") for d in days])
    rest = ok(output=[record(d) for d in ("20260812", "20260811")])
    client = FakeClient.scripted([full, rest])
    frame = ETF_NAV.fetch(client, "069500", D(2026, 8, 11), D(2026, 11, 20))
    assert [c.params for c in client.calls] == [
        {
            "FID_COND_MRKT_DIV_CODE": "J",
            "FID_INPUT_ISCD": "069500",
            "FID_INPUT_DATE_1": "20260811",
            "FID_INPUT_DATE_2": "20261120",
        },
        {
            "FID_COND_MRKT_DIV_CODE": "J",
            "FID_INPUT_ISCD": "069500",
            "FID_INPUT_DATE_1": "20260811",
            "FID_INPUT_DATE_2": "20260812",
        },
    ]
    assert {(c.path, c.tr_id) for c in client.calls} == {
        ("/uapi/etfetn/v1/quotations/nav-comparison-daily-trend", "FHPST02440200")
    }
    assert frame.height == 102
    assert frame["date"].is_sorted() and set(frame["symbol"]) == {"069500"}
    assert ETF_NAV.calls(250) == 3
