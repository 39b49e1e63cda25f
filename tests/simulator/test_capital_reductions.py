"""The simulator's capital reduction (감자): the KSD schedule (ksdinfo/cap-dcrs) and the daily
chart tell one story. On the relisting day the chart sends 락구분 00 with revaluation reason 02
and the base price's rate (1 / kept ratio), the raw base is the last close over the kept ratio,
the listed shares shrink by it and the par value stays; the adjusted chart divides the
earlier prices by the kept ratio; the halt runs from the session before the record date to the
session before the relisting."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.common import krx_calendar
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from tests.simulator.ksd_api import daily_chart, day, schedule
from tests.simulator.rest_api import Api

CAP_DCRS = ("/uapi/domestic-stock/v1/ksdinfo/cap-dcrs", "HHKDB669106C0")
SYMBOL = "149240"


def _schedule(ksd_api: Api, start: str, end: str, symbol: str = "") -> list[dict[str, str]]:
    return schedule(ksd_api, CAP_DCRS, start, end, symbol)


def _chart(ksd_api: Api, start: dt.date, end: dt.date, *, adjusted: bool) -> list[dict]:
    return daily_chart(ksd_api, SYMBOL, start, end, adjusted=adjusted)


def test_the_schedule_lists_the_reduction_with_its_halt_and_relisting(ksd_api: Api) -> None:
    rows = _schedule(ksd_api, "20250101", "20261231")
    assert [(r["sht_cd"], r["list_dt"], r["reduce_cap_rate"]) for r in rows] == [
        (SYMBOL, "20250922", "0.1000")
    ]
    (row,) = rows
    record, listed = day(row["record_date"]), day(row["list_dt"])
    halt_start, halt_end = (day(d) for d in row["td_stop_dt"].split("~"))
    assert halt_start == krx_calendar.previous_trading_day(record)
    assert halt_end == krx_calendar.previous_trading_day(listed)
    assert listed - record >= dt.timedelta(days=14) and row["stk_kind"] == "보통"
    # By record date and by code: outside the window, or another code, nothing.
    assert _schedule(ksd_api, row["list_dt"], "20261231") == []
    assert _schedule(ksd_api, "20250101", "20261231", "071620") == []


def test_the_chart_resets_the_base_on_relisting_and_the_adjusted_chart_lifts_before_it(
    ksd_api: Api, ksd_server: SimulatorServer
) -> None:
    market: Market = ksd_server.state.market
    (row,) = _schedule(ksd_api, "20250101", "20261231", SYMBOL)
    listed, kept = day(row["list_dt"]), float(row["reduce_cap_rate"])
    start, end = listed - dt.timedelta(days=10), listed + dt.timedelta(days=10)
    raw = _chart(ksd_api, start, end, adjusted=False)
    adjusted = {r["stck_bsop_date"]: r for r in _chart(ksd_api, start, end, adjusted=True)}
    flagged = [r for r in raw if r["revl_issu_reas"] != "" or float(r["prtt_rate"]) > 0]
    assert [r["stck_bsop_date"] for r in flagged] == [row["list_dt"]]
    (bar,) = flagged
    assert bar["flng_cls_code"] == "00" and bar["revl_issu_reas"] == "02"
    assert float(bar["prtt_rate"]) == pytest.approx(1 / kept, rel=1e-3)
    previous = raw[raw.index(bar) - 1]
    base = int(bar["stck_clpr"]) - int(bar["prdy_vrss"])
    assert base == pytest.approx(int(previous["stck_clpr"]) / kept, rel=0.01)
    for r in raw:
        kis = int(adjusted[r["stck_bsop_date"]]["stck_clpr"])
        factor = 1 / kept if r["stck_bsop_date"] < row["list_dt"] else 1.0
        assert abs(kis - int(r["stck_clpr"]) * factor) <= 0.5 + 1e-9
    # Shares shrink by the kept ratio at the same par value.
    before = market.listed_shares(SYMBOL, krx_calendar.previous_trading_day(listed))
    assert market.listed_shares(SYMBOL, listed) == round(before * kept)
    assert market.par_value(SYMBOL, listed) == market.par_value(SYMBOL, start)
    assert [(a.date, a.kind, a.ratio) for a in market.corporate_actions(SYMBOL)] == [
        (listed, "capital_reduction", kept)
    ]


def test_a_reduction_is_listed_once_announced(ksd_server: SimulatorServer) -> None:
    market: Market = ksd_server.state.market
    early = Market(
        SimConfig(seed=11, universe=48, start=dt.date(2023, 1, 2), now=dt.datetime(2025, 8, 1))
    )
    assert [c.symbol for c in market.capital_reductions()] == [SYMBOL]
    # Six weeks before the relisting it is not announced yet.
    assert early.capital_reductions() == []
