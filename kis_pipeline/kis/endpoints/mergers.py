"""KSD merger and split schedule (합병_분할일정), ksdinfo/merger-split HHKDB669104C0 (a sibling
of SPEC §10.8; fields from the official samples, `docs/ksd_schedules.md`).

One row per merger or company split of a listed name (`sht_cd`): the absorbed or split-off
company (`opp_cust_cd`, `opp_cust_nm`, 피합병(피분할)회사) and the surviving one (`cust_cd`,
`cust_nm`, 합병(분할)회사) by KSD's codes, the reason as KSD words it (`merge_type`, 합병사유),
the ratio (`merge_rate`, 비율: the surviving company's shares per absorbed share), the halt
(`td_stop_dt`, kept as sent), the listing of the new shares (`list_dt`) and the share counts;
`seq` (연번) tells a name's events of one record date apart. Real only (not in the paper
environment).

No documented row cap: a range is fetched in 31-day windows of record dates, all events. A row
without a code, a record date or a sequence number, or with a ratio that is not a positive
number, is refused into the client's rejects alone; it never becomes an action.
"""

from __future__ import annotations

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints.ksd_schedule import KsdSchedule
from kis_pipeline.kis.records import RecordSpec

MERGERS_TR_ID = "HHKDB669104C0"

MERGER_ROWS = RecordSpec(
    table="mergers",
    schema=schemas.MERGERS,
    fields={
        "record_date": "record_date",
        "sht_cd": "symbol",
        "seq": "seq",
        "opp_cust_cd": "absorbed_code",
        "opp_cust_nm": "absorbed_name",
        "cust_cd": "company_code",
        "cust_nm": "company_name",
        "merge_type": "reason",
        "merge_rate": "ratio",  # the surviving company's shares per absorbed share
        "td_stop_dt": "halt_period",
        "list_dt": "list_date",
        "odd_amt_pay_dt": "odd_lot_pay_date",
        "tot_issue_stk_qty": "total_shares",  # shares
        "issue_stk_qty": "new_shares",  # shares
    },
    carried=("record_date", "sht_cd", "merge_rate"),
    required=("record_date", "symbol", "seq"),
    positive=("ratio",),
    non_negative=("total_shares", "new_shares"),
    date="record_date",
)

MERGERS = KsdSchedule("merger-split", MERGERS_TR_ID, MERGER_ROWS)
fetch_mergers = MERGERS.fetch
