"""KSD merger and split schedule, ksdinfo/merger-split HHKDB669104C0 (합병_분할일정), from the
market's mergers (`market_mergers`).

Like the other KSD schedules it has no paging (`CTS` blank) and no row cap here; `F_DT`..`T_DT`
select record dates, `SHT_CD` blank is every event, a code outside the universe is MCA05918.
One row per event of a listed name (`sht_cd`): the absorbed (split) company in `opp_cust_cd`
and `opp_cust_nm`, the surviving one in `cust_cd` and `cust_nm`, `merge_rate` the surviving
company's shares per absorbed share with four decimals, `td_stop_dt` the halt of the listed
name (blank when it does not stop), counts right-aligned in 12 characters, a sequence number
per code (`seq`).
"""

from __future__ import annotations

from kis_pipeline.simulator.market_types import Merger
from kis_pipeline.simulator.rest_common import Endpoint, Params, Reply, ymd
from kis_pipeline.simulator.rest_ksd import record_date_reply
from kis_pipeline.simulator.rest_market import MarketView

PATH = "/uapi/domestic-stock/v1/ksdinfo/merger-split"
TR_ID = "HHKDB669104C0"


def merger_schedule(view: MarketView, params: Params, tr_cont: str) -> Reply:
    return record_date_reply(view, params, "mergers", view.market.mergers, _row)


def _row(merger: Merger) -> dict[str, str]:
    return {
        "record_date": ymd(merger.record_date),
        "sht_cd": merger.symbol,
        "opp_cust_cd": merger.absorbed,
        "opp_cust_nm": merger.absorbed_name,
        "cust_cd": merger.symbol,
        "cust_nm": merger.company,
        "merge_type": merger.merger_type,
        "merge_rate": f"{merger.ratio:.4f}",
        "td_stop_dt": "",
        "list_dt": ymd(merger.list_date),
        "odd_amt_pay_dt": ymd(merger.odd_lot_pay_date),
        "tot_issue_stk_qty": f"{merger.total_shares:12d}",
        "issue_stk_qty": f"{merger.new_shares:12d}",
        "seq": "1",
    }


ENDPOINTS = (Endpoint(PATH, TR_ID, merger_schedule),)
