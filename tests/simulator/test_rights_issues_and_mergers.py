"""The simulator's rights issue (유상증자) and merger (합병): the KSD schedules
(ksdinfo/paidin-capin, ksdinfo/merger-split) and the daily chart tell one story.

On the ex-rights day the chart sends 락구분 01 and the rate of the theoretical ex-rights price
(TERP) to the cum-rights close, which the KSD's rate and issue price give back:
(close + price × r) / (1 + r); the adjusted chart scales the earlier prices by it and the
shares grow by 1 + r. A merger into a listed name grows its shares by the new shares on their
listing day and flags nothing: raw and adjusted charts agree."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.common import krx_calendar
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_ticks import tick_size
from kis_pipeline.simulator.server import SimulatorServer
from tests.simulator.ksd_api import daily_chart, day, schedule
from tests.simulator.rest_api import Api

PAIDIN = ("/uapi/domestic-stock/v1/ksdinfo/paidin-capin", "HHKDB669100C0")
MERGER_SPLIT = ("/uapi/domestic-stock/v1/ksdinfo/merger-split", "HHKDB669104C0")
RIGHTS, MERGED = "388290", "400790"


def _rights(ksd_api: Api, start: str, end: str, by: str = "2") -> list[dict[str, str]]:
    return schedule(ksd_api, PAIDIN, start, end, extra={"GB1": by})


def test_the_rights_schedule_selects_by_record_date_or_subscription(ksd_api: Api) -> None:
    (row,) = _rights(ksd_api, "20250101", "20251231")
    assert (row["sht_cd"], row["right_dt"], row["fix_rate"], row["disc_rate"]) == (
        RIGHTS,
        "20250617",
        "30.00",
        "20.00",
    )
    record, ex = day(row["record_date"]), day(row["right_dt"])
    assert krx_calendar.next_trading_day(ex) == record
    first, last = day(row["sub_term_ft"]), day(row["sub_term"])
    assert record < first < last < day(row["list_date"])
    assert int(row["issue_stk_qty"]) == round(int(row["tot_issue_stk_qty"]) * 0.3)
    # GB1 1 selects by the subscription's first day, 2 by the record date.
    assert _rights(ksd_api, row["sub_term_ft"], row["sub_term_ft"], by="1") == [row]
    assert _rights(ksd_api, row["sub_term_ft"], row["sub_term_ft"], by="2") == []
    assert _rights(ksd_api, row["record_date"], row["record_date"], by="1") == []


def test_the_rights_schedule_refuses_an_unknown_selection(ksd_api: Api) -> None:
    params = {"CTS": "", "GB1": "3", "F_DT": "20250101", "T_DT": "20251231", "SHT_CD": ""}
    body = ksd_api.get(PAIDIN, params).json()
    assert body["rt_cd"] != "0" and "GB1" in body["msg1"]


def test_the_ex_rights_day_falls_to_the_theoretical_price_and_the_adjusted_chart_follows(
    ksd_api: Api, ksd_server: SimulatorServer
) -> None:
    market: Market = ksd_server.state.market
    (row,) = _rights(ksd_api, "20250101", "20251231")
    ex, rate, price = day(row["right_dt"]), float(row["fix_rate"]) / 100, int(row["fix_price"])
    start, end = ex - dt.timedelta(days=10), ex + dt.timedelta(days=7)
    raw = daily_chart(ksd_api, RIGHTS, start, end, adjusted=False)
    adjusted = {
        r["stck_bsop_date"]: r for r in daily_chart(ksd_api, RIGHTS, start, end, adjusted=True)
    }
    flagged = [r for r in raw if float(r["prtt_rate"]) > 0]
    assert [r["stck_bsop_date"] for r in flagged] == [row["right_dt"]]
    (bar,) = flagged
    assert bar["flng_cls_code"] == "01" and bar["revl_issu_reas"] == ""
    cum = int(raw[raw.index(bar) - 1]["stck_clpr"])
    terp = (cum + price * rate) / (1 + rate)
    # The issue price is the discount off the cum-rights close, to the won.
    assert price == round(cum * (1 - float(row["disc_rate"]) / 100))
    # KIS sends the rate with two decimals.
    assert float(bar["prtt_rate"]) == pytest.approx(terp / cum, abs=0.005)
    base = int(bar["stck_clpr"]) - int(bar["prdy_vrss"])
    assert abs(base - terp) <= tick_size(base)
    for r in raw:
        factor = terp / cum if r["stck_bsop_date"] < row["right_dt"] else 1.0
        assert (
            abs(int(adjusted[r["stck_bsop_date"]]["stck_clpr"]) - int(r["stck_clpr"]) * factor) <= 1
        )
    before = market.listed_shares(RIGHTS, krx_calendar.previous_trading_day(ex))
    assert before == int(row["tot_issue_stk_qty"])
    assert market.listed_shares(RIGHTS, ex) == before + int(row["issue_stk_qty"])
    assert market.par_value(RIGHTS, ex) == market.par_value(RIGHTS, start)


def test_the_merger_schedule_and_the_new_shares_at_an_unchanged_basis(
    ksd_api: Api, ksd_server: SimulatorServer
) -> None:
    market: Market = ksd_server.state.market
    (row,) = schedule(ksd_api, MERGER_SPLIT, "20250101", "20251231")
    assert (row["sht_cd"], row["cust_cd"], row["merge_type"], row["merge_rate"]) == (
        MERGED,
        MERGED,
        "흡수합병",
        "0.4000",
    )
    assert row["opp_cust_cd"] and row["opp_cust_cd"] != MERGED and row["seq"] == "1"
    listed = day(row["list_dt"])
    assert day(row["record_date"]) < listed
    start, end = listed - dt.timedelta(days=7), listed + dt.timedelta(days=7)
    raw = daily_chart(ksd_api, MERGED, start, end, adjusted=False)
    adjusted = daily_chart(ksd_api, MERGED, start, end, adjusted=True)
    assert [r["stck_clpr"] for r in raw] == [r["stck_clpr"] for r in adjusted]
    assert all(float(r["prtt_rate"]) == 0 and r["flng_cls_code"] == "00" for r in raw)
    before = market.listed_shares(MERGED, krx_calendar.previous_trading_day(listed))
    assert before == int(row["tot_issue_stk_qty"])
    assert market.listed_shares(MERGED, listed) == before + int(row["issue_stk_qty"])
    assert int(row["issue_stk_qty"]) == 3_600_000


def test_both_are_listed_once_announced() -> None:
    early = Market(
        SimConfig(seed=11, universe=48, start=dt.date(2023, 1, 2), now=dt.datetime(2025, 5, 1))
    )
    assert early.rights_issues() == [] and early.mergers() == []
    later = Market(
        SimConfig(seed=11, universe=48, start=dt.date(2023, 1, 2), now=dt.datetime(2025, 9, 1))
    )
    assert [r.symbol for r in later.rights_issues()] == [RIGHTS]
    assert [m.symbol for m in later.mergers()] == [MERGED]
