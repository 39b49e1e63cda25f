"""The bond period-price records: KIS's fields become the columns, a broken record is refused."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.kis.endpoints.bond_prices import BOND_PRICE_ROWS, bond_price_params
from kis_pipeline.kis.records import Source, split_rows

SOURCE = Source("inquire-daily-itemchartprice", "FHKBJ773701C0", "test")


def record(**overrides: str) -> dict[str, str]:
    row = {
        "stck_bsop_date": "20261120",
        "bond_oprc": "9876.50",
        "bond_hgpr": "9890.00",
        "bond_lwpr": "9870.25",
        "bond_prpr": "9881.00",
        "acml_vol": "150000",
    }
    return row | overrides


def test_a_record_becomes_a_row_in_price_per_10000_face() -> None:
    split = split_rows([record()], BOND_PRICE_ROWS, SOURCE, constants={"symbol": "KR103502GA34"})
    assert split.rejects == []
    assert split.frame.row(0, named=True) == {
        "date": dt.date(2026, 11, 20),
        "symbol": "KR103502GA34",
        "open": 9876.5,
        "high": 9890.0,
        "low": 9870.25,
        "close": 9881.0,
        "volume": 150000,
    }


@pytest.mark.parametrize(
    "broken", [{"bond_prpr": "0"}, {"bond_hgpr": "9000.00"}, {"acml_vol": "-5"}, {"bond_oprc": ""}]
)
def test_a_broken_record_is_refused(broken: dict[str, str]) -> None:
    split = split_rows(
        [record(**broken)], BOND_PRICE_ROWS, SOURCE, constants={"symbol": "KR103502GA34"}
    )
    assert split.frame.height == 0
    assert len(split.rejects) == 1


def test_a_call_asks_for_listed_bonds_by_code() -> None:
    assert bond_price_params("KR103502GA34") == {
        "FID_COND_MRKT_DIV_CODE": "B",
        "FID_INPUT_ISCD": "KR103502GA34",
    }
