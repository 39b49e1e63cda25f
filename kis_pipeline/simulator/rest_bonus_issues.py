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
from kis_pipeline.simulator.rest_common import Endpoint, Params, Reply, ymd
from kis_pipeline.simulator.rest_ksd import record_date_reply
from kis_pipeline.simulator.rest_market import MarketView

PATH = "/uapi/domestic-stock/v1/ksdinfo/bonus-issue"
TR_ID = "HHKDB669101C0"


def bonus_issue_schedule(view: MarketView, params: Params, tr_cont: str) -> Reply:
    return record_date_reply(view, params, "bonus_issues", view.market.bonus_issues, _row)


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
