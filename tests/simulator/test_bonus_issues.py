"""The simulator's bonus issues (무상증자): the KSD schedule (ksdinfo/bonus-issue) and the daily
chart tell one story. On the ex-rights date the chart flags 락구분 01 with the base price's rate
(100 / (100 + fix_rate)), the raw price drops by it, the listed shares grow by it and the par
value stays; the adjusted chart divides the earlier prices by it; the record date is the
session after the ex date and the new shares list weeks later."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.common import krx_calendar
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from tests.simulator.ksd_api import daily_chart, schedule
from tests.simulator.rest_api import Api

BONUS = ("/uapi/domestic-stock/v1/ksdinfo/bonus-issue", "HHKDB669101C0")


def _schedule(ksd_api: Api, start: str, end: str, symbol: str = "") -> list[dict[str, str]]:
    return schedule(ksd_api, BONUS, start, end, symbol)


def _chart(
    ksd_api: Api, symbol: str, start: dt.date, end: dt.date, *, adjusted: bool
) -> list[dict]:
    return daily_chart(ksd_api, symbol, start, end, adjusted=adjusted)


def test_the_schedule_lists_each_bonus_issue_with_its_dates_and_shares(ksd_api: Api) -> None:
    rows = _schedule(ksd_api, "20250101", "20261231")
    assert [(r["sht_cd"], r["right_dt"], r["fix_rate"]) for r in rows] == [
        ("071620", "20250415", "100.00"),
        ("330790", "20260210", "50.00"),
    ]
    for row in rows:
        ex = dt.datetime.strptime(row["right_dt"], "%Y%m%d").date()
        record = dt.datetime.strptime(row["record_date"], "%Y%m%d").date()
        listed = dt.datetime.strptime(row["list_date"], "%Y%m%d").date()
        assert record == krx_calendar.next_trading_day(ex)
        assert listed - record >= dt.timedelta(days=21) and krx_calendar.is_trading_day(listed)
        before, added = int(row["tot_issue_stk_qty"]), int(row["issue_stk_qty"])
        assert added == before * float(row["fix_rate"]) / 100
        assert len(row["odd_rec_price"]) == 9 and row["stk_kind"] == "보통"
    # By record date and by code: outside the window, or another code, nothing.
    assert _schedule(ksd_api, "20250417", "20260210") == []
    assert [r["sht_cd"] for r in _schedule(ksd_api, "20250101", "20261231", "330790")] == ["330790"]


@pytest.mark.parametrize("symbol", ["071620", "330790"])
def test_the_chart_flags_the_ex_date_and_the_adjusted_chart_divides_before_it(
    ksd_api: Api, ksd_server: SimulatorServer, symbol: str
) -> None:
    market: Market = ksd_server.state.market
    (row,) = _schedule(ksd_api, "20250101", "20261231", symbol)
    ex = dt.datetime.strptime(row["right_dt"], "%Y%m%d").date()
    rate = float(row["fix_rate"])
    ratio = 1 + rate / 100
    start, end = ex - dt.timedelta(days=10), ex + dt.timedelta(days=10)
    raw = _chart(ksd_api, symbol, start, end, adjusted=False)
    adjusted = {r["stck_bsop_date"]: r for r in _chart(ksd_api, symbol, start, end, adjusted=True)}
    flagged = [r for r in raw if r["flng_cls_code"] != "00"]
    assert [r["stck_bsop_date"] for r in flagged] == [row["right_dt"]]
    (bar,) = flagged
    previous = raw[raw.index(bar) - 1]
    base = int(previous["stck_clpr"])
    assert bar["flng_cls_code"] == "01" and bar["revl_issu_reas"] == ""
    # The chart sends the rate with two decimals.
    assert float(bar["prtt_rate"]) == pytest.approx(100 / (100 + rate), abs=5e-3)
    # The base price (close minus change) is the old close divided by the ratio, and is the
    # schedule's fractional-share price.
    ex_base = int(bar["stck_clpr"]) - int(bar["prdy_vrss"])
    assert ex_base == int(row["odd_rec_price"])
    assert ex_base == pytest.approx(base / ratio, rel=0.01)
    for r in raw:
        kis = int(adjusted[r["stck_bsop_date"]]["stck_clpr"])
        factor = 1 / ratio if r["stck_bsop_date"] < row["right_dt"] else 1.0
        assert abs(kis - int(r["stck_clpr"]) * factor) <= 0.5 + 1e-9
    # Shares grow by the ratio; the par value stays (a split would divide it).
    before = market.listed_shares(symbol, krx_calendar.previous_trading_day(ex))
    assert before == int(row["tot_issue_stk_qty"])
    assert market.listed_shares(symbol, ex) == round(before * ratio)
    assert market.par_value(symbol, ex) == market.par_value(symbol, start)
    assert [(a.date, a.kind, a.ratio) for a in market.corporate_actions(symbol)] == [
        (ex, "bonus_issue", ratio)
    ]


def test_an_issue_is_listed_once_announced(ksd_server: SimulatorServer) -> None:
    market: Market = ksd_server.state.market
    early = Market(
        SimConfig(seed=11, universe=48, start=dt.date(2023, 1, 2), now=dt.datetime(2026, 1, 5))
    )
    assert [b.symbol for b in market.bonus_issues()] == ["071620", "330790"]
    # Four weeks before the second ex date it is not announced yet; the first is history.
    assert [b.symbol for b in early.bonus_issues()] == ["071620"]
