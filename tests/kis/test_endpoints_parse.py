"""The casting rules of `kis.parse` and the schema conventions every endpoint relies on."""

from __future__ import annotations

import datetime as dt
import importlib

import polars as pl
import pytest

from kis_pipeline.kis import schemas
from kis_pipeline.kis.errors import PayloadError
from kis_pipeline.kis.parse import (
    KRW_PER_HUNDRED_MILLION,
    cast_value,
    parse_date,
    rows_of,
)
from kis_pipeline.kis.records import frame_from_rows

FAMILIES = [
    "prices",
    "quotes",
    "index",
    "overseas",
    "rankings",
    "flows",
    "fundamentals",
    "dividends",
    "calendar",
    "program_trading",
    "credit_balance",
    "short_sales",
    "lending_balance",
    "trade_volume",
]


def test_rows_of_accepts_object_list_and_missing() -> None:
    row = {"a": " 1 ", " b ": "x  "}
    assert rows_of({"output": row}, "output", where="T") == [{"a": "1", "b": "x"}]
    assert rows_of({"output": [row, row]}, "output", where="T") == [{"a": "1", "b": "x"}] * 2
    assert rows_of({"rt_cd": "0"}, "output", where="T") == []
    assert rows_of({"output": None}, "output", where="T") == []


def test_rows_of_rejects_other_shapes() -> None:
    with pytest.raises(PayloadError, match="'output' is str"):
        rows_of({"output": "oops"}, "output", where="T")
    with pytest.raises(PayloadError, match="holds a int"):
        rows_of({"output": [1]}, "output", where="T")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20240605", dt.date(2024, 6, 5)),
        ("0020240605", dt.date(2024, 6, 5)),
        ("2024/04/16", dt.date(2024, 4, 16)),
        ("2024-04-16", dt.date(2024, 4, 16)),
        ("", None),
        ("00000000", None),
    ],
)
def test_parse_date(text: str, expected: dt.date | None) -> None:
    assert parse_date(text) == expected


def test_parse_date_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_date("2024065")
    with pytest.raises(ValueError):
        parse_date("20241340")


def test_cast_numbers_exactly() -> None:
    assert cast_value("8975.00", pl.Int64, scale=KRW_PER_HUNDRED_MILLION) == 897_500_000_000
    assert cast_value("0.5", pl.Int64, scale=KRW_PER_HUNDRED_MILLION) == 50_000_000
    assert cast_value("-1573640", pl.Int64) == -1_573_640
    assert cast_value("000000000600", pl.Int64) == 600
    assert cast_value("+5.61", pl.Float64) == 5.61
    assert cast_value("", pl.Int64) is None
    assert cast_value("", pl.String) is None
    assert cast_value("Y", pl.Boolean) is True
    assert cast_value("N", pl.Boolean) is False


def test_bad_number_names_field_and_endpoint() -> None:
    schema = pl.Schema({"price": pl.Int64})
    with pytest.raises(PayloadError, match=r"FHKST01010100 inquire-price.*'stck_prpr'.*'12a'"):
        frame_from_rows(
            [{"stck_prpr": "12a"}],
            rename={"stck_prpr": "price"},
            schema=schema,
            where="FHKST01010100 inquire-price output",
        )


def test_missing_required_field_names_it() -> None:
    schema = pl.Schema({"price": pl.Int64})
    with pytest.raises(PayloadError, match=r"FHKST01010100 inquire-price.*'stck_prpr'"):
        frame_from_rows(
            [{"other": "1"}],
            rename={"stck_prpr": "price"},
            schema=schema,
            where="FHKST01010100 inquire-price output",
            required=("stck_prpr",),
        )


def test_optional_missing_field_is_null_and_extras_ignored() -> None:
    schema = pl.Schema({"price": pl.Int64, "name": pl.String})
    frame = frame_from_rows(
        [{"stck_prpr": "100", "brand_new_field": "x"}],
        rename={"stck_prpr": "price", "hts_kor_isnm": "name"},
        schema=schema,
        where="T",
    )
    assert frame.schema == schema
    assert frame.row(0) == (100, None)


@pytest.mark.parametrize("family", FAMILIES)
def test_rename_maps_target_schema_columns_only(family: str) -> None:
    module = importlib.import_module(f"kis_pipeline.kis.endpoints.{family}")
    maps = [v for k, v in vars(module).items() if k.endswith("_FIELDS") and isinstance(v, dict)]
    assert maps, f"{family} has no rename map"
    all_columns = {c for schema in schemas.ALL.values() for c in schema.names()}
    for rename in maps:
        for kis_name, column in rename.items():
            assert column.startswith("_") or column in all_columns, (family, kis_name, column)


def test_no_kis_names_in_schemas() -> None:
    # "inter_"/"inter2_" (KIS's index and short-code fields), not English "interest".
    kis_like = (
        "stck_",
        "prdy_",
        "acml_",
        "inter_",
        "inter2_",
        "bstp_",
        "ntby",
        "pbmn",
        "yymm",
        "_yn",
    )
    for name, schema in schemas.ALL.items():
        for column in schema.names():
            assert not any(part in column for part in kis_like), (name, column)
            assert column == column.lower()


def test_contract_columns_present() -> None:
    required = {
        "daily_prices": "date symbol open high low close volume value",
        "daily_prices_adjusted": "date symbol open high low close volume adj_factor",
        "index_daily": "date index_code open high low close volume value",
        "overseas_daily_prices": "date exchange symbol open high low close volume",
        "rankings": "date ranking rank symbol source",
        "investor_flows": "date symbol individual_net_volume foreign_net_volume "
        "institution_net_volume individual_net_value foreign_net_value institution_net_value",
        "market_investor_flows": "date market individual_net_volume foreign_net_volume "
        "institution_net_volume individual_net_value foreign_net_value institution_net_value",
        "balance_sheet": "as_of symbol period period_type",
        "income_statement": "as_of symbol period period_type",
        "financial_ratios": "as_of symbol period period_type",
        "dividends": "symbol record_date pay_date dividend_kind dividend_per_share",
        "trading_calendar": "date is_business_day is_trading_day is_market_open is_settlement_day",
    }
    for table, columns in required.items():
        names = schemas.ALL[table].names()
        assert names[: len(columns.split())] == columns.split() or set(columns.split()) <= set(
            names
        ), table
    for schema in schemas.ALL.values():
        for column, dtype in schema.items():
            if column == "date" or column.endswith("_date") or column == "as_of":
                assert dtype == pl.Date, column
