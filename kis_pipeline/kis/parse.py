"""Casting helpers shared by the endpoint modules: KIS string rows -> typed values.

KIS sends every value as a string (SPEC §1, §18.5): numbers, dates and flags alike, with
"" for "no value" and sometimes padding spaces. This module owns the rules that turn one of
them into the warehouse's types, so every endpoint casts the same way (`kis.records` applies
them record by record and rejects what does not fit):

- output containers may be an object or a list whatever the portal says (§18.6): both become a
  list of rows; keys and values are stripped of surrounding spaces;
- "" becomes null for every type;
- a number is plain decimal text: an optional sign, digits and an optional fraction, at most
  18 digits before the point (KIS number fields are at most 18 characters, SPEC). An exponent
  ("1e3"), a thousands separator or anything else is not a number: it is rejected, never
  guessed at;
- integers go through `Decimal`, so "8975.00" is 8975 and KIS unit scaling (millions, hundred
  millions, thousands of shares) is exact; a value that is not whole after scaling ("1000.7"
  shares) is rejected, not rounded, and so is one outside the 64-bit range;
- dates accept `YYYYMMDD`, `00YYYYMMDD` (§1) and `YYYY/MM/DD` (KSD dividends); all-zero
  dates are null;
- flags are Y/N (or 1/0).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import polars as pl

from kis_pipeline.common.clock import KST, KST_NAME
from kis_pipeline.kis.errors import PayloadError

# Unit factors from KIS's units to the warehouse's (DESIGN §3.4: KRW and shares).
KRW_PER_MILLION = 1_000_000
KRW_PER_HUNDRED_MILLION = 100_000_000
SHARES_PER_THOUSAND = 1_000

Row = dict[str, str]

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
MAX_DIGITS = 18
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


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
    try:
        if len(digits) != 8 or not digits.isdigit():
            raise ValueError
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise ValueError(f"{text!r} is not a date") from None


def number(text: str) -> Decimal:
    """Plain decimal text as a `Decimal`; raises ValueError saying why it is not one."""
    if not _NUMBER.match(text):
        raise ValueError(f"{text!r} is not a plain decimal number")
    whole = text.lstrip("+-").split(".")[0].lstrip("0")
    if len(whole) > MAX_DIGITS:
        raise ValueError(f"{text!r} has more than {MAX_DIGITS} digits")
    return Decimal(text)


def cast_value(text: str, dtype: pl.DataType, *, scale: int = 1) -> Any:
    """One stripped KIS string as a Python value of `dtype`; "" -> None.

    Raises ValueError, with the reason, when the text does not fit the type.
    """
    return caster(dtype, scale)(text)


def caster(dtype: pl.DataType, scale: int = 1) -> Callable[[str], Any]:
    """`cast_value` for one type and unit, chosen once (a page casts thousands of values)."""
    if dtype == pl.String:
        return lambda text: text or None
    if dtype == pl.Int64:
        return lambda text: _whole(text, scale) if text else None
    if dtype == pl.Float64:
        return lambda text: float(number(text) * scale) if text else None
    if dtype == pl.Date:
        return lambda text: parse_date(text) if text else None
    if dtype == pl.Boolean:
        return lambda text: _flag(text) if text else None
    raise TypeError(f"no cast from KIS text to {dtype}")


def _whole(text: str, scale: int) -> int:
    value = number(text) * scale
    if value != value.to_integral_value():
        raise ValueError(f"{text!r} is not a whole number")
    whole = int(value)
    if not INT64_MIN <= whole <= INT64_MAX:
        raise ValueError(f"{text!r} is out of range")
    return whole


def _flag(text: str) -> bool:
    flag = text.upper()
    if flag in ("Y", "1"):
        return True
    if flag in ("N", "0"):
        return False
    raise ValueError(f"{text!r} is not a Y/N flag")


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


def kst_timestamp(date: str = "date", time: str = "time") -> pl.Expr:
    """A `date` column and an `HHMMSS` text column as one timestamp in Asia/Seoul."""
    text = pl.col(time)
    since_midnight = pl.duration(
        hours=text.str.slice(0, 2).cast(pl.Int64),
        minutes=text.str.slice(2, 2).cast(pl.Int64),
        seconds=text.str.slice(4, 2).cast(pl.Int64),
    )
    return (pl.col(date).cast(pl.Datetime("us")) + since_midnight).dt.replace_time_zone(KST_NAME)
