"""Test doubles for the endpoint tests: a client that records calls and answers from fixtures.

`FakeClient` has the one method the endpoint layer uses, `get(path, tr_id, params, *,
tr_cont)`, and answers with real `KisResponse` objects, so parsing and paging are tested
without a network or a token.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kis_pipeline.kis.client import KisResponse

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> dict[str, Any]:
    """A fresh copy of one fixture body from tests/kis/fixtures."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def ok(**containers: Any) -> dict[str, Any]:
    """A success envelope around the given output containers."""
    return {"rt_cd": "0", "msg_cd": "MCA00000", "msg1": "정상처리 되었습니다.", **containers}


@dataclass(frozen=True)
class Call:
    path: str
    tr_id: str
    params: dict[str, str]
    tr_cont: str


Answer = dict[str, Any] | tuple[dict[str, Any], str] | KisResponse


class FakeClient:
    """Records every call; `respond(call)` returns a body, (body, tr_cont) or a KisResponse."""

    def __init__(self, respond: Callable[[Call], Answer]) -> None:
        self.respond = respond
        self.calls: list[Call] = []

    @classmethod
    def scripted(cls, answers: Iterable[Answer]) -> FakeClient:
        """Answers in order; a call beyond the script fails the test."""
        queue = list(answers)

        def respond(call: Call) -> Answer:
            assert queue, f"unexpected extra call {call}"
            return queue.pop(0)

        return cls(respond)

    def get(
        self, path: str, tr_id: str, params: Mapping[str, str], *, tr_cont: str = ""
    ) -> KisResponse:
        for key, value in params.items():
            assert isinstance(value, str), f"param {key} is {type(value).__name__}, not str"
        call = Call(path, tr_id, dict(params), tr_cont)
        self.calls.append(call)
        answer = self.respond(call)
        if isinstance(answer, KisResponse):
            return answer
        body, header = answer if isinstance(answer, tuple) else (answer, "")
        return KisResponse(tr_id=tr_id, body=copy.deepcopy(body), tr_cont=header)

    def params(self, key: str) -> list[str]:
        return [call.params[key] for call in self.calls]


def ymd(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%Y%m%d").date()


def weekdays(start: dt.date, end: dt.date) -> list[dt.date]:
    days = []
    day = start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def window_server(
    days: list[dt.date],
    make_row: Callable[[dt.date], dict[str, str]],
    *,
    container: str,
    page_rows: int,
    start_key: str | None,
    end_key: str,
) -> Callable[[Call], Answer]:
    """A server for window-walking endpoints: rows of `days` in the requested window, newest
    first, at most `page_rows`; `start_key` None means the window has no lower bound."""

    def respond(call: Call) -> Answer:
        end = ymd(call.params[end_key])
        start = ymd(call.params[start_key]) if start_key else dt.date.min
        chosen = sorted((d for d in days if start <= d <= end), reverse=True)[:page_rows]
        return ok(**{container: [make_row(d) for d in chosen]})

    return respond
