"""Casting helpers shared by the endpoint modules: KIS string rows -> typed polars frames.

KIS sends every value as a string (SPEC §1, §18.5): numbers, dates and flags alike, with
"" for "no value" and sometimes padding spaces. This module owns the rules that turn them into
the warehouse's types, so every endpoint casts the same way:

- output containers may be an object or a list whatever the portal says (§18.6): both become a
  list of rows; keys and values are stripped of surrounding spaces;
- "" becomes null for every type; a non-blank value that does not parse raises `PayloadError`
  naming the field, the TR_ID and the endpoint, because a silently-null number hides a changed
  format;
- integers go through `Decimal`, so "8975.00" is 8975 and KIS unit scaling (millions, hundred
  millions, thousands of shares) is exact;
- dates accept `YYYYMMDD`, `00YYYYMMDD` (§1) and `YYYY/MM/DD` (KSD dividends); all-zero
  dates are null;
- a required field that is absent from a row raises `PayloadError`; extra fields are ignored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from kis_pipeline.kis.errors import PayloadError

KST = ZoneInfo("Asia/Seoul")

# Unit factors from KIS's units to the warehouse's (DESIGN §3.4: KRW and shares).
KRW_PER_MILLION = 1_000_000
KRW_PER_HUNDRED_MILLION = 100_000_000
SHARES_PER_THOUSAND = 1_000

Row = dict[str, str]


def yyyymmdd(day: dt.date) -> str:
    """A date as KIS's 8-digit `YYYYMMDD` parameter."""
    return day.strftime("%Y%m%d")


def today_kst() -> dt.date:
    return dt.datetime.now(KST).date()


def rows_of(body: Mapping[str, Any], container: str, *, where: str) -> list[Row]:
    """The rows of one output container, object or list alike; missing or null means none."""
    if not isinstance(body, Mapping):
        raise PayloadError(f"{where}: response body is {type(body).__name__}, not an object")
    value = body.get(container)
    if value is None or value == "":
        return []
    if isinstance(value, Mapping):
        items: list[Any] = [value]
    elif isinstance(value, list):
        items = value
    else:
        raise PayloadError(
            f"{where}: container {container!r} is {type(value).__name__}, not an object or list"
        )
    rows: list[Row] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise PayloadError(f"{where}: {container!r} holds a {type(item).__name__}, not rows")
        rows.append({str(k).strip(): _text(v) for k, v in item.items()})
    return rows


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value).strip()


def is_blank_row(row: Mapping[str, str]) -> bool:
    """True for `{}` and for rows whose every value is "" (KIS's "no data" answer)."""
    return all(v == "" for v in row.values())


def drop_blank_rows(rows: Iterable[Row]) -> list[Row]:
    return [row for row in rows if not is_blank_row(row)]


def parse_date(text: str) -> dt.date | None:
    """`YYYYMMDD`, `00YYYYMMDD`, `YYYY/MM/DD`, `YYYY-MM-DD` or `YYYY.MM.DD`; blank/zero -> None.

    Raises ValueError on anything else.
    """
    digits = text.strip()
    if len(digits) == 10 and digits[4] in "/-." and digits[7] == digits[4]:
        digits = digits[:4] + digits[5:7] + digits[8:]
    elif len(digits) == 10 and digits.startswith("00") and digits.isdigit():
        digits = digits[2:]
    if digits == "" or set(digits) == {"0"}:
        return None
    if len(digits) != 8 or not digits.isdigit():
        raise ValueError(f"not a date: {text!r}")
    return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))


def _decimal(text: str) -> Decimal:
    value = Decimal(text)
    if not value.is_finite():
        raise InvalidOperation(text)
    return value


def cast_value(text: str, dtype: pl.DataType, *, scale: int = 1) -> Any:
    """One stripped KIS string as a Python value of `dtype`; "" -> None.

    Raises ValueError (or InvalidOperation) when the text does not fit the type.
    """
    if text == "":
        return None
    if dtype == pl.String:
        return text
    if dtype == pl.Int64:
        value = _decimal(text) * scale
        return int(value.to_integral_value(rounding=ROUND_HALF_EVEN))
    if dtype == pl.Float64:
        return float(_decimal(text) * scale)
    if dtype == pl.Date:
        return parse_date(text)
    if dtype == pl.Boolean:
        flag = text.upper()
        if flag in ("Y", "1"):
            return True
        if flag in ("N", "0"):
            return False
        raise ValueError(f"not a Y/N flag: {text!r}")
    raise TypeError(f"no cast from KIS text to {dtype}")


def frame_from_rows(
    rows: Iterable[Mapping[str, str]],
    *,
    rename: Mapping[str, str],
    schema: pl.Schema,
    where: str,
    required: Collection[str] = (),
    keys: Collection[str] = (),
    scale: Mapping[str, int] | None = None,
    null_values: Mapping[str, Collection[str]] | None = None,
    constants: Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """Cast KIS rows into a frame of `schema`.

    `rename` maps KIS field -> output column; `required` KIS fields must be present in every
    row and `keys` must also be non-blank; `scale` multiplies an output column (unit
    conversion); `null_values` lists per output column the texts that mean "no value" (KIS
    placeholders such as 99.99); `constants` fills columns the rows do not carry. Columns of
    `schema` that none of these fill stay null for the caller to compute.
    """
    scale = scale or {}
    null_values = null_values or {}
    constants = constants or {}
    unknown = (set(rename.values()) | set(constants)) - set(schema.names())
    if unknown:
        raise ValueError(f"{where}: columns {sorted(unknown)} are not in the schema")
    rows = list(rows)
    for row in rows:
        for name in required:
            if name not in row:
                raise PayloadError(f"{where}: required field {name!r} is missing")
        for name in keys:
            if row.get(name, "") == "":
                raise PayloadError(f"{where}: key field {name!r} is blank")
    columns: dict[str, list[Any]] = {}
    for kis_name, column in rename.items():
        dtype = schema[column]
        factor = scale.get(column, 1)
        blanks = null_values.get(column, ())
        values: list[Any] = []
        for row in rows:
            text = row.get(kis_name, "")
            if text in blanks:
                text = ""
            try:
                values.append(cast_value(text, dtype, scale=factor))
            except (ValueError, ArithmeticError) as exc:
                raise PayloadError(
                    f"{where}: field {kis_name!r} has {text!r}, not a {dtype}"
                ) from exc
        columns[column] = values
    height = len(rows)
    data = {name: columns.get(name, [constants.get(name)] * height) for name in schema.names()}
    return pl.DataFrame(data, schema=schema)


def zero_to_null(frame: pl.DataFrame, columns: Iterable[str]) -> pl.DataFrame:
    """Null the zeros of price columns: KIS writes 0 for "no trade", and 0 is never a price."""
    return frame.with_columns(
        pl.when(pl.col(c) == 0).then(None).otherwise(pl.col(c)).alias(c) for c in columns
    )


def conform(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """Exactly `schema`'s columns, in its order and types (after computed columns were added)."""
    return frame.select(pl.col(name).cast(dtype) for name, dtype in schema.items())


def empty(schema: pl.Schema) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)
