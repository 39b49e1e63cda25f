"""KSD capital-reduction schedule (자본감소일정), ksdinfo/cap-dcrs HHKDB669106C0 (a sibling of
SPEC §10.8; fields from the official samples, `docs/ksd_schedules.md`).

One row per capital reduction of a share class: `reduce_cap_rate` (감자배정율) the shares kept
per old share, 0.1 for 10 old shares to 1 (the samples give no unit: see the docs), the record
date, the trading halt (`td_stop_dt`, kept as sent) and the relisting date (`list_dt`), the
first session at the new share basis, when the base price is the last close over the ratio.
Real only (not in the paper environment).

No paging (`CTS` blank) and no documented row cap: a range is fetched in 31-day windows of
record dates, all reductions. A row without a code, a record or relisting date, or with a
ratio that is not a positive number is refused into the client's rejects alone; it never
becomes an action.
"""

from __future__ import annotations

from kis_pipeline.kis import schemas
from kis_pipeline.kis.endpoints.ksd_schedule import KsdSchedule
from kis_pipeline.kis.records import RecordSpec

CAPITAL_REDUCTIONS_TR_ID = "HHKDB669106C0"

CAPITAL_REDUCTION_ROWS = RecordSpec(
    table="capital_reductions",
    schema=schemas.CAPITAL_REDUCTIONS,
    fields={
        "record_date": "record_date",
        "sht_cd": "symbol",
        "stk_kind": "share_class",
        "reduce_cap_type": "reduction_type",
        "reduce_cap_rate": "kept_ratio",  # shares kept per old share
        "comp_way": "method",
        "td_stop_dt": "halt_period",
        "list_dt": "list_date",
    },
    carried=("record_date", "sht_cd", "reduce_cap_rate", "list_dt"),
    required=("record_date", "symbol", "list_date", "kept_ratio"),
    positive=("kept_ratio",),
    date="record_date",
)

CAPITAL_REDUCTIONS = KsdSchedule("cap-dcrs", CAPITAL_REDUCTIONS_TR_ID, CAPITAL_REDUCTION_ROWS)
fetch_capital_reductions = CAPITAL_REDUCTIONS.fetch
CAPITAL_REDUCTIONS_PATH = CAPITAL_REDUCTIONS.endpoint.path
