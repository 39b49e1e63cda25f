"""The ELW volatility daily trend as the client sends and reads it: market W and the warrant's
code, no date, one call whatever the range; KIS's fields into the columns (the bar in KRW, the
volatilities in percent), a day without trades, and a broken record refused."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.kis.endpoints.elw_prices import ELW_PRICE_ROWS, ELW_PRICES
from kis_pipeline.kis.records import Source, split_rows
from tests.kis.endpoint_fakes import FakeClient, ok

D = dt.date
SOURCE = Source("volatility-trend-daily", "FHPEW02840200", "test")


def record(day: str = "20261120", **overrides: str) -> dict[str, str]:
    row = {
        "stck_bsop_date": day,
        "elw_prpr": "415",
        "prdy_vrss": "-35",
        "prdy_vrss_sign": "5",
        "prdy_ctrt": "-7.78",
        "elw_oprc": "450",
        "elw_hgpr": "460",
        "elw_lwpr": "405",
        "acml_vol": "1834200",
        "d10_hist_vltl": "31.42",
        "d20_hist_vltl": "29.87",
        "d30_hist_vltl": "28.05",
        "d60_hist_vltl": "30.11",
        "d90_hist_vltl": "32.60",
        "hts_ints_vltl": "35.18",
    }
    return row | overrides


def test_a_record_becomes_a_row_with_the_bar_and_the_volatilities() -> None:
    split = split_rows([record()], ELW_PRICE_ROWS, SOURCE, constants={"symbol": "58J297"})
    assert split.rejects == []
    assert split.frame.row(0, named=True) == {
        "date": D(2026, 11, 20),
        "symbol": "58J297",
        "open": 450,
        "high": 460,
        "low": 405,
        "close": 415,
        "change": -35,
        "change_rate": -7.78,
        "volume": 1834200,
        "hist_vol_10d": 31.42,
        "hist_vol_20d": 29.87,
        "hist_vol_30d": 28.05,
        "hist_vol_60d": 30.11,
        "hist_vol_90d": 32.6,
        "implied_vol": 35.18,
    }


def test_a_day_without_trades_keeps_its_close_and_no_open_high_low() -> None:
    quiet = record(elw_oprc="0", elw_hgpr="0", elw_lwpr="0", acml_vol="0", prdy_vrss="0")
    split = split_rows([quiet], ELW_PRICE_ROWS, SOURCE, constants={"symbol": "58J297"})
    row = split.frame.row(0, named=True)
    assert (row["open"], row["high"], row["low"], row["close"]) == (None, None, None, 415)


@pytest.mark.parametrize(
    "broken",
    [
        {"elw_prpr": ""},
        {"elw_prpr": "0"},
        {"hts_ints_vltl": "n/a"},
        {"hts_ints_vltl": "-1.00"},
        {"acml_vol": "-3"},
        {"elw_hgpr": "400"},
    ],
)
def test_a_broken_record_is_refused(broken: dict[str, str]) -> None:
    split = split_rows([record(**broken)], ELW_PRICE_ROWS, SOURCE, constants={"symbol": "58J297"})
    assert split.frame.height == 0
    assert len(split.rejects) == 1


def test_one_call_sends_market_w_and_the_code_and_no_date_whatever_the_range() -> None:
    days = [D(2026, 11, 20) - dt.timedelta(days=i) for i in range(30)]
    client = FakeClient.scripted([ok(output=[record(f"{d:%Y%m%d}") for d in days])])
    frame = ELW_PRICES.fetch(client, "58J297", D(2026, 3, 2), D(2026, 11, 19))
    assert [(c.path, c.tr_id, c.params) for c in client.calls] == [
        (
            "/uapi/elw/v1/quotations/volatility-trend-daily",
            "FHPEW02840200",
            {"FID_COND_MRKT_DIV_CODE": "W", "FID_INPUT_ISCD": "58J297"},
        )
    ]
    # The whole page, oldest first, whatever the range: the caller sees how far back it reached.
    assert frame["date"].to_list() == sorted(days)
    assert set(frame["symbol"]) == {"58J297"}
    assert ELW_PRICES.calls(250) == ELW_PRICES.calls(1) == 1
