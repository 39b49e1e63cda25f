"""KSD capital-reduction schedule, ksdinfo/cap-dcrs HHKDB669106C0 (자본감소일정), from the
market's capital reductions (`market_capred`).

Like the other KSD schedules it has no paging (`CTS` blank) and no row cap here; `F_DT`..`T_DT`
select record dates, `SHT_CD` blank is every reduction, a code outside the universe is
MCA05918. Rows come by record date then code. `reduce_cap_rate` is the shares kept per old
share (0.1 for 10 to 1) and `td_stop_dt` the halt as `YYYYMMDD~YYYYMMDD`: the samples give
neither unit nor format (`docs/ksd_schedules.md`).
"""

from __future__ import annotations

from kis_pipeline.simulator.market_types import CapitalReduction
from kis_pipeline.simulator.rest_common import Endpoint, Params, Reply, ymd
from kis_pipeline.simulator.rest_ksd import record_date_reply
from kis_pipeline.simulator.rest_market import MarketView

PATH = "/uapi/domestic-stock/v1/ksdinfo/cap-dcrs"
TR_ID = "HHKDB669106C0"


def capital_reduction_schedule(view: MarketView, params: Params, tr_cont: str) -> Reply:
    return record_date_reply(
        view, params, "capital_reductions", view.market.capital_reductions, _row
    )


def _row(reduction: CapitalReduction) -> dict[str, str]:
    return {
        "record_date": ymd(reduction.record_date),
        "sht_cd": reduction.symbol,
        "stk_kind": "보통",
        "reduce_cap_type": reduction.reduction_type,
        "reduce_cap_rate": f"{reduction.kept_ratio:.4f}",
        "comp_way": reduction.method,
        "td_stop_dt": f"{ymd(reduction.halt_start)}~{ymd(reduction.halt_end)}",
        "list_dt": ymd(reduction.list_date),
    }


ENDPOINTS = (Endpoint(PATH, TR_ID, capital_reduction_schedule),)
