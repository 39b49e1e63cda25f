"""Recent executions, inquire-ccnl FHKST01010300 (SPEC §7.7): a symbol's 30 newest trades,
newest first, with no paging.

They come from the WebSocket's own trade tapes (`ticks.py`), so they are the very trades the
WebSocket sends (same time, price, volume and strength): a client that lost ticks in flight at
a drop or a crash finds them here, if fewer than 30 trades followed them. Like KIS, the answer
carries no date, no cumulative volume and no id: only the time to the second. Market codes NX
and UN answer the Nextrade and the combined tapes (`venues`), the ones H0NXCNT0 and H0UNCNT0
stream; NX has none for a name Nextrade does not trade.
"""

from __future__ import annotations

from kis_pipeline.simulator.rest_common import Endpoint, Params, Reply, ok, unknown_symbol
from kis_pipeline.simulator.rest_market import MarketView
from kis_pipeline.simulator.rest_quotes import stock_market_code

# H0STCNT0 record positions (SPEC §15.7.1) of the fields §7.7 answers.
_FIELDS = {
    "stck_cntg_hour": 1,
    "stck_prpr": 2,
    "prdy_vrss": 4,
    "prdy_vrss_sign": 3,
    "cntg_vol": 12,
    "tday_rltv": 18,
    "prdy_ctrt": 5,
}


def inquire_ccnl(view: MarketView, params: Params, tr_cont: str) -> Reply:
    venue = stock_market_code(params)
    symbol = params.require("FID_INPUT_ISCD", 12)
    if view.listing(symbol) is None:
        raise unknown_symbol()
    rows = []
    for record in reversed(view.executions(symbol, venue)):
        fields = record.split("^")
        rows.append({name: fields[i] for name, i in _FIELDS.items()})
    return Reply(ok(output=rows))


ENDPOINTS = (
    Endpoint("/uapi/domestic-stock/v1/quotations/inquire-ccnl", "FHKST01010300", inquire_ccnl),
)
