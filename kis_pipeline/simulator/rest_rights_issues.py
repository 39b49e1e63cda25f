"""KSD rights-issue schedule, ksdinfo/paidin-capin HHKDB669100C0 (유상증자일정), from the
market's rights issues (`market_rights`).

Like the other KSD schedules it has no paging (`CTS` blank) and no row cap here; `GB1` picks
what `F_DT`..`T_DT` select, `1` subscription start dates and `2` record dates (anything else is
refused); `SHT_CD` blank is every issue, a code outside the universe is MCA05918. Rows come by
record date then code, shaped like the bonus-issue schedule: counts right-aligned in 12
characters, prices zero-padded to 9 digits, rates in percent with two decimals; the
subscription period's first and last days in `sub_term_ft` and `sub_term` (both labelled
청약기간 in the official samples).
"""

from __future__ import annotations

import datetime as dt

from kis_pipeline.simulator.market_types import RightsIssue
from kis_pipeline.simulator.rest_common import Endpoint, Params, Reply, ymd
from kis_pipeline.simulator.rest_ksd import record_date_reply
from kis_pipeline.simulator.rest_market import MarketView

PATH = "/uapi/domestic-stock/v1/ksdinfo/paidin-capin"
TR_ID = "HHKDB669100C0"
BY_SUBSCRIPTION, BY_RECORD_DATE = "1", "2"


def _subscription(issue: RightsIssue) -> dt.date:
    return issue.subscription_start


def _record(issue: RightsIssue) -> dt.date:
    return issue.record_date


def rights_issue_schedule(view: MarketView, params: Params, tr_cont: str) -> Reply:
    by = params.choice("GB1", (BY_SUBSCRIPTION, BY_RECORD_DATE), 1)
    day = _subscription if by == BY_SUBSCRIPTION else _record
    return record_date_reply(view, params, "rights_issues", view.market.rights_issues, _row, day)


def _row(issue: RightsIssue) -> dict[str, str]:
    return {
        "record_date": ymd(issue.record_date),
        "sht_cd": issue.symbol,
        "tot_issue_stk_qty": f"{issue.total_shares:12d}",
        "issue_stk_qty": f"{issue.new_shares:12d}",
        "fix_rate": f"{issue.fix_rate:.2f}",
        "disc_rate": f"{issue.discount_rate:.2f}",
        "fix_price": f"{issue.issue_price:09d}",
        "right_dt": ymd(issue.ex_date),
        "sub_term_ft": ymd(issue.subscription_start),
        "sub_term": ymd(issue.subscription_end),
        "list_date": ymd(issue.list_date),
        "stk_kind": "보통",
    }


ENDPOINTS = (Endpoint(PATH, TR_ID, rights_issue_schedule),)
