"""KSD rights-issue schedule (유상증자일정), ksdinfo/paidin-capin HHKDB669100C0 (a sibling of SPEC
§10.8; fields from the official samples, `docs/ksd_schedules.md`).

One row per rights issue of a share class: `fix_rate` new shares per 100 old (확정배정율, read
in percent like the bonus issue's), the issue price (`fix_price`, 발행예정가, KRW) and its
discount (`disc_rate`, %), the ex-rights date (`right_dt`, 권리락일), the subscription period
(`sub_term_ft`..`sub_term`), the record date and the listing date of the new shares. `GB1`
`2` selects by record date (`1` would select by subscription date). Real only (not in the
paper environment).

No documented row cap: a range is fetched in 31-day windows of record dates, all issues. A row
without a code, a record or ex date, a rate or a price, or with a rate or price that is not a
positive number is refused into the client's rejects alone; it never becomes an action.
"""

from __future__ import annotations

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints.ksd_schedule import KsdSchedule
from kis_pipeline.kis.records import RecordSpec

RIGHTS_ISSUES_TR_ID = "HHKDB669100C0"
BY_RECORD_DATE = {"GB1": "2"}

RIGHTS_ISSUE_ROWS = RecordSpec(
    table="rights_issues",
    schema=schemas.RIGHTS_ISSUES,
    fields={
        "record_date": "record_date",
        "sht_cd": "symbol",
        "stk_kind": "share_class",
        "right_dt": "ex_date",
        "fix_rate": "fix_rate",  # percent: new shares per 100 old
        "disc_rate": "discount_rate",  # percent
        "fix_price": "issue_price",  # KRW per new share
        "sub_term_ft": "subscription_start",
        "sub_term": "subscription_end",
        "list_date": "list_date",
        "tot_issue_stk_qty": "total_shares",  # shares
        "issue_stk_qty": "new_shares",  # shares
    },
    carried=("record_date", "sht_cd", "fix_rate", "fix_price", "right_dt"),
    required=("record_date", "symbol", "ex_date", "fix_rate", "issue_price"),
    positive=("fix_rate", "issue_price"),
    non_negative=("discount_rate", "total_shares", "new_shares"),
    date="record_date",
)

RIGHTS_ISSUES = KsdSchedule("paidin-capin", RIGHTS_ISSUES_TR_ID, RIGHTS_ISSUE_ROWS, BY_RECORD_DATE)
fetch_rights_issues = RIGHTS_ISSUES.fetch
