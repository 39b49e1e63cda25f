"""Building blocks of the simulated REST endpoints: parameters, envelopes, errors, formatting.

KIS answers every value as a string (SPEC §1), so handlers build rows with the formatters
here. Error answers the SPEC does not pin down are chosen here, in one place:

- a bad or missing parameter value: HTTP 200, rt_cd "2", OPSQ2001
  "ERROR : INPUT INVALID_CHECK_<PARAM>" (the shape KIS gives for a bad market code and for
  other rejected input fields);
- a value longer than the field: rt_cd "2", OPSQ2002 "...INVALID_CHECK_FIELD_LENGTH";
- an unknown symbol on a single-symbol endpoint: rt_cd "1", MCA05918 "종목코드 오류입니다.".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

OK = ("MCA00000", "정상처리 되었습니다.")


class BusinessError(Exception):
    """An error answer in the normal `rt_cd`/`msg_cd`/`msg1` envelope."""

    def __init__(self, rt_cd: str, msg_cd: str, msg1: str, *, status: int = 200) -> None:
        super().__init__(f"{msg_cd}: {msg1}")
        self.rt_cd = rt_cd
        self.msg_cd = msg_cd
        self.msg1 = msg1
        self.status = status

    def body(self) -> dict[str, str]:
        return {"rt_cd": self.rt_cd, "msg_cd": self.msg_cd, "msg1": self.msg1}


def invalid_param(name: str) -> BusinessError:
    label = "MRKT_DIV_CODE" if "MRKT_DIV_CODE" in name.upper() else name.upper()
    return BusinessError("2", "OPSQ2001", f"ERROR : INPUT INVALID_CHECK_{label}")


def field_too_long() -> BusinessError:
    return BusinessError("2", "OPSQ2002", "ERROR : INPUT INVALID_CHECK_FIELD_LENGTH")


def unknown_symbol() -> BusinessError:
    return BusinessError("1", "MCA05918", "종목코드 오류입니다.")


@dataclass
class Reply:
    """A successful answer: the JSON body and the `tr_cont` response header."""

    body: dict[str, Any]
    tr_cont: str = ""


def ok(*, msg: tuple[str, str] = OK, **outputs: Any) -> dict[str, Any]:
    """A success envelope; outputs first, like the portal examples."""
    return {**outputs, "rt_cd": "0", "msg_cd": msg[0], "msg1": msg[1]}


@dataclass
class Params:
    """The query string of one request. Names match case-insensitively: the portal's own
    examples send lower-case names where its tables show upper-case ones (SPEC §1)."""

    query: Mapping[str, str]
    _folded: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._folded = {}
        for key, value in self.query.items():
            self._folded.setdefault(key.lower(), value)

    def get(self, name: str) -> str | None:
        return self._folded.get(name.lower())

    def require(self, name: str, max_len: int) -> str:
        """A parameter that must be sent (possibly blank), stripped of padding."""
        value = self.get(name)
        if value is None:
            raise invalid_param(name)
        if len(value) > max_len:
            raise field_too_long()
        return value.strip()

    def choice(self, name: str, allowed: Iterable[str], max_len: int = 2) -> str:
        value = self.require(name, max_len)
        if value not in allowed:
            raise invalid_param(name)
        return value

    def date(self, name: str, *, max_len: int = 10, blank: dt.date | None = None) -> dt.date:
        """A `YYYYMMDD` date (`00YYYYMMDD` accepted, SPEC §1); blank gives `blank` if set."""
        value = self.require(name, max_len)
        if not value and blank is not None:
            return blank
        return parse_date(value, name)


def parse_date(value: str, name: str) -> dt.date:
    text = value[2:] if len(value) == 10 and value.startswith("00") else value
    if len(text) != 8 or not text.isdigit():
        raise invalid_param(name)
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise invalid_param(name) from None


# ---- formatting (every value a string) -------------------------------------------------


def ymd(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def num(value: float | int) -> str:
    """An integer amount."""
    return str(round(value))


def dec(value: float, places: int = 2) -> str:
    text = f"{value:.{places}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def rate(part: float, whole: float, places: int = 2) -> str:
    """`part / whole` in percent; "0.00" when `whole` is 0."""
    return dec(part / whole * 100.0 if whole else 0.0, places)


def sign(change: float, *, upper_limit: bool = False, lower_limit: bool = False) -> str:
    """SPEC §1 change sign: 1 upper limit, 2 rise, 3 unchanged, 4 lower limit, 5 fall."""
    if change > 0:
        return "1" if upper_limit else "2"
    if change < 0:
        return "4" if lower_limit else "5"
    return "3"


def yn(flag: bool) -> str:
    return "Y" if flag else "N"


def blank_row(fields: Iterable[str]) -> dict[str, str]:
    return dict.fromkeys(fields, "")


@dataclass(frozen=True)
class Endpoint:
    """One GET market-data endpoint: its path, the TR_ID it answers and its handler.

    The handler gets the market view, the query parameters and the request's `tr_cont`
    header, and returns a `Reply` or raises `BusinessError`.
    """

    path: str
    tr_id: str
    handler: Callable[[Any, Params, str], Reply]
