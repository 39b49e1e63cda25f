"""KSD bonus-issue schedule (무상증자일정), ksdinfo/bonus-issue HHKDB669101C0 (a sibling of SPEC
§10.8; fields from the official samples, `docs/ksd_schedules.md`).

One row per bonus issue of a share class: `fix_rate` new shares per 100 old (확정배정율), the
ex-rights date (`right_dt`, 권리락일) on which the base price is divided by 1 + rate / 100, the
record date, and the listing date of the new shares. Real only (not in the paper environment).

No paging (`CTS` blank) and no documented row cap: a range is fetched in 31-day windows of
record dates, all issues. A row without a code, a record or ex date, or with a rate that is not
a positive number is refused into the client's rejects alone; it never becomes an action.
"""

from __future__ import annotations

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints.ksd_schedule import KsdSchedule
from kis_pipeline.kis.records import RecordSpec

BONUS_ISSUES_TR_ID = "HHKDB669101C0"

BONUS_ISSUE_ROWS = RecordSpec(
    table="bonus_issues",
    schema=schemas.BONUS_ISSUES,
    fields={
        "record_date": "record_date",
        "sht_cd": "symbol",
        "stk_kind": "share_class",
        "right_dt": "ex_date",
        "fix_rate": "fix_rate",  # percent: new shares per 100 old
        "odd_rec_price": "odd_lot_price",  # KRW
        "odd_pay_dt": "odd_lot_pay_date",
        "list_date": "list_date",
        "tot_issue_stk_qty": "total_shares",  # shares
        "issue_stk_qty": "new_shares",  # shares
    },
    carried=("record_date", "sht_cd", "fix_rate", "right_dt"),
    required=("record_date", "symbol", "ex_date", "fix_rate"),
    positive=("fix_rate",),
    non_negative=("odd_lot_price", "total_shares", "new_shares"),
    date="record_date",
)

BONUS_ISSUES = KsdSchedule("bonus-issue", BONUS_ISSUES_TR_ID, BONUS_ISSUE_ROWS)
fetch_bonus_issues = BONUS_ISSUES.fetch
BONUS_ISSUES_PATH = BONUS_ISSUES.endpoint.path
