"""One bad record costs that record only, on every endpoint that reads records by declaration.

Each case takes a documented answer, breaks one field of one record, and asks the endpoint
twice: through a client that keeps a rejects log, the answer is the clean one without that
record and the log holds it with its raw payload; through a client without a log (a caller
that could not keep the reject), the whole answer fails with a line naming the field.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl
import pytest

from kis_pipeline.kis.endpoints.dividends import fetch_dividends
from kis_pipeline.kis.endpoints.fundamentals import (
    fetch_balance_sheet,
    fetch_financial_ratios,
    fetch_income_statement,
)
from kis_pipeline.kis.endpoints.overseas import fetch_overseas_daily
from kis_pipeline.kis.endpoints.prices import fetch_current_price
from kis_pipeline.kis.endpoints.quotes import fetch_multi_quote
from kis_pipeline.kis.endpoints.rankings import (
    fetch_fluctuation_ranking,
    fetch_market_cap_ranking,
    fetch_volume_ranking,
)
from kis_pipeline.kis.errors import PayloadError
from kis_pipeline.kis.rejects import RejectLog
from tests.kis.endpoint_fakes import FakeClient, fixture

D = dt.date
SESSION = D(2024, 6, 5)
AS_OF = D(2024, 6, 7)


@dataclass(frozen=True)
class Case:
    fixture: str
    container: str
    fetch: Callable[[Any], pl.DataFrame]
    index: int  # the record broken
    field: str
    value: str
    table: str
    reason: str  # a fragment of the reject's reason
    key: str | tuple[str, ...]  # the columns that tell the broken record's row from the others


CASES = {
    "volume rank, negative volume": Case(
        "volume_rank.json",
        "output",
        lambda c: fetch_volume_ranking(c, SESSION),
        1,
        "acml_vol",
        "-5",
        "rankings",
        "negative",
        "symbol",
    ),
    "fluctuation rank, price not a number": Case(
        "fluctuation_rank.json",
        "output",
        lambda c: fetch_fluctuation_ranking(c, SESSION),
        0,
        "stck_prpr",
        "12a00",
        "rankings",
        "price",
        "symbol",
    ),
    "market cap rank, zero price": Case(
        "market_cap_rank.json",
        "output",
        lambda c: fetch_market_cap_ranking(c, SESSION),
        1,
        "stck_prpr",
        "0",
        "rankings",
        "not positive",
        "symbol",
    ),
    "dividend, negative amount": Case(
        "dividends_window.json",
        "output1",
        lambda c: fetch_dividends(c, D(2023, 1, 1), D(2023, 12, 31), symbol="005380"),
        0,
        "per_sto_divi_amt",
        "-361",
        "dividends",
        "negative",
        ("symbol", "record_date"),
    ),
    "overseas bar, high below low": Case(
        "overseas_daily_NAS_AAPL.json",
        "output2",
        lambda c: fetch_overseas_daily(c, "NAS", "AAPL", D(2024, 6, 3), D(2024, 6, 5)),
        1,
        "high",
        "1.0",
        "overseas_daily_prices",
        "below",
        "date",
    ),
    "overseas bar, blank close": Case(
        "overseas_daily_NAS_AAPL.json",
        "output2",
        lambda c: fetch_overseas_daily(c, "NAS", "AAPL", D(2024, 6, 3), D(2024, 6, 5)),
        2,
        "clos",
        "",
        "overseas_daily_prices",
        "blank",
        "date",
    ),
    "balance sheet, period not YYYYMM": Case(
        "balance_sheet_005380.json",
        "output",
        lambda c: fetch_balance_sheet(c, "005380", as_of=AS_OF),
        1,
        "stac_yymm",
        "2023.12",
        "balance_sheet",
        "does not match",
        "period",
    ),
    "income statement, 30 digits": Case(
        "income_statement_005380.json",
        "output",
        lambda c: fetch_income_statement(c, "005380", as_of=AS_OF),
        0,
        "thtr_ntin",
        "123456789012345678901234567890",
        "income_statement",
        "net_income",
        "period",
    ),
    "financial ratios, garbage": Case(
        "financial_ratios_005380.json",
        "output",
        lambda c: fetch_financial_ratios(c, "005380", as_of=AS_OF),
        1,
        "roe_val",
        "n/a",
        "financial_ratios",
        "roe",
        "period",
    ),
    "multi-quote, negative price": Case(
        "multi_quote_unknown_code.json",
        "output",
        lambda c: fetch_multi_quote(c, ["005380", "999998", "003490"]),
        2,
        "inter2_prpr",
        "-21350",
        "daily_prices",
        "not positive",
        "symbol",
    ),
}


def _broken(case: Case) -> dict[str, Any]:
    body = fixture(case.fixture)
    body[case.container][case.index][case.field] = case.value
    return body


def _logging_client(body: dict[str, Any]) -> FakeClient:
    client = FakeClient(lambda _call: body)
    client.rejects = RejectLog()  # type: ignore[attr-defined]
    return client


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_a_bad_record_is_refused_alone_with_its_raw_payload(case: Case) -> None:
    clean = case.fetch(FakeClient(lambda _call: fixture(case.fixture)))
    body = _broken(case)
    client = _logging_client(body)

    frame = case.fetch(client)

    [reject] = client.rejects.records()  # type: ignore[attr-defined]
    assert reject.table == case.table
    assert case.field in (reject.field or "")
    assert case.reason in reject.reason
    # The record as KIS sent it, its padding trimmed (as every page is read).
    sent = body[case.container][case.index]
    assert json.loads(reject.raw) == {k: v.strip() for k, v in sent.items()}
    # Exactly the broken record is missing; every other row is as in the clean answer.
    key = [case.key] if isinstance(case.key, str) else list(case.key)
    lost = clean.join(frame.select(key), on=key, how="anti")
    assert lost.height == 1
    kept = clean.join(lost.select(key), on=key, how="anti")
    assert frame.sort(key).equals(kept.sort(key))


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_without_a_rejects_log_the_answer_fails_naming_the_field(case: Case) -> None:
    body = _broken(case)
    with pytest.raises(PayloadError, match=case.field):
        case.fetch(FakeClient(lambda _call: body))


def test_a_current_price_that_is_not_a_price_is_refused() -> None:
    body = fixture("current_price_005380.json")
    body["output"]["stck_prpr"] = "-1"
    client = _logging_client(body)

    frame = fetch_current_price(client, "005380")

    assert frame.is_empty()
    [reject] = client.rejects.records()  # type: ignore[attr-defined]
    assert (reject.table, reject.field) == ("current_price", "stck_prpr")
