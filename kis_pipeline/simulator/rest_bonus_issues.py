"""KSD bonus-issue schedule, ksdinfo/bonus-issue HHKDB669101C0 (무상증자일정), from the
market's bonus issues (`market_bonus`).

Like the other KSD schedules it has no paging (`CTS` blank) and no row cap here; `F_DT`..`T_DT`
select record dates, `SHT_CD` blank is every issue, a code outside the universe is MCA05918.
Rows come by record date then code. Shapes follow the list-info and dividend schedules of this
simulator: counts right-aligned in 12 characters, the fractional-share base price zero-padded
to 9 digits, the rate in percent with two decimals, the pay date as `YYYY/MM/DD`.
"""

from __future__ import annotations

from kis_pipeline.simulator.market_types import BonusIssue
from kis_pipeline.simulator.rest_common import Endpoint, Params, Reply, ok, unknown_symbol, ymd
from kis_pipeline.simulator.rest_market import MarketView

PATH = "/uapi/domestic-stock/v1/ksdinfo/bonus-issue"
TR_ID = "HHKDB669101C0"


def bonus_issue_schedule(view: MarketView, params: Params, tr_cont: str) -> Reply:
    params.require("CTS", 17)
    start = params.date("F_DT", max_len=8)
    end = params.date("T_DT", max_len=8)
    symbol = params.require("SHT_CD", 9)
    if symbol and view.listing(symbol) is None:
        raise unknown_symbol()
    issues = view.memo(("bonus_issues", view.market.today()), view.market.bonus_issues)
    rows = [
        _row(b)
        for b in issues
        if start <= b.record_date <= end and (not symbol or b.symbol == symbol)
    ]
    return Reply(ok(output1=rows))


def _row(issue: BonusIssue) -> dict[str, str]:
    return {
        "record_date": ymd(issue.record_date),
        "sht_cd": issue.symbol,
        "fix_rate": f"{issue.fix_rate:.2f}",
        "odd_rec_price": f"{issue.odd_lot_price:09d}",
        "right_dt": ymd(issue.ex_date),
        "odd_pay_dt": issue.odd_lot_pay_date.strftime("%Y/%m/%d"),
        "list_date": ymd(issue.list_date),
        "tot_issue_stk_qty": f"{issue.total_shares:12d}",
        "issue_stk_qty": f"{issue.new_shares:12d}",
        "stk_kind": "보통",
    }


ENDPOINTS = (Endpoint(PATH, TR_ID, bonus_issue_schedule),)
