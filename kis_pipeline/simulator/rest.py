"""The simulator's REST app: the KIS gateway checks in front of the market-data endpoints.

`create_rest_app(state)` serves `/oauth2/*` (`rest_oauth.py`), the GET market-data endpoints
declared by the `rest_*` family modules, the master files under `/common/master/<name>` and
`/sim/stats` (`rest_admin.py`).

Every market-data request goes through the gateway in this order, each failure answered the
way SPEC §4 describes (gateway errors as HTTP 500 with the `rt_cd` envelope):

1. `content-type` must be JSON (EGW00132); `appkey` (EGW00102/3) and `appsecret` (EGW00104/5);
2. the per-app-key one-second window (EGW00201); every request from here on is counted;
3. `authorization: Bearer <token>` (EGW00205 wrong scheme, EGW00122 none, EGW00121 invalid or
   revoked, EGW00123 expired); `custtype` P or B (EGW00208);
4. `tr_id`: missing -> OPSQ9999, not the TR of this path -> OPSQ0002 (both HTTP 500);
5. injected faults (`faults.py`), then the endpoint's handler; business errors come back as
   HTTP 200 with `rt_cd` != "0"; `corrupt` faults rewrite records of the answer
   (`corrupt.py`).

Responses echo `tr_id` and carry `tr_cont` (blank unless the endpoint pages).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from kis_pipeline.simulator.corrupt import corrupt_body
from kis_pipeline.simulator.faults import truncate_body
from kis_pipeline.simulator.rest_activity import ENDPOINTS as ACTIVITY
from kis_pipeline.simulator.rest_admin import add_admin_routes
from kis_pipeline.simulator.rest_bonds import ENDPOINTS as BONDS
from kis_pipeline.simulator.rest_bonus_issues import ENDPOINTS as BONUS_ISSUES
from kis_pipeline.simulator.rest_calendar import ENDPOINTS as CALENDAR
from kis_pipeline.simulator.rest_capital_reductions import ENDPOINTS as CAPITAL_REDUCTIONS
from kis_pipeline.simulator.rest_charts import ENDPOINTS as CHARTS
from kis_pipeline.simulator.rest_common import BusinessError, Endpoint, Params
from kis_pipeline.simulator.rest_company import ENDPOINTS as COMPANY
from kis_pipeline.simulator.rest_conditions import ENDPOINTS as CONDITIONS
from kis_pipeline.simulator.rest_elws import ENDPOINTS as ELWS
from kis_pipeline.simulator.rest_etfs import ENDPOINTS as ETFS
from kis_pipeline.simulator.rest_finance import ENDPOINTS as FINANCE
from kis_pipeline.simulator.rest_flows import ENDPOINTS as FLOWS
from kis_pipeline.simulator.rest_futures_options import ENDPOINTS as FUTURES_OPTIONS
from kis_pipeline.simulator.rest_market import MarketView
from kis_pipeline.simulator.rest_mergers import ENDPOINTS as MERGERS
from kis_pipeline.simulator.rest_minutes import ENDPOINTS as MINUTES
from kis_pipeline.simulator.rest_news import ENDPOINTS as NEWS
from kis_pipeline.simulator.rest_oauth import add_oauth_routes
from kis_pipeline.simulator.rest_quotes import ENDPOINTS as QUOTES
from kis_pipeline.simulator.rest_ranking_lists import ENDPOINTS as RANKING_LISTS
from kis_pipeline.simulator.rest_rankings import ENDPOINTS as RANKINGS
from kis_pipeline.simulator.rest_rights_issues import ENDPOINTS as RIGHTS_ISSUES
from kis_pipeline.simulator.rest_sectors import ENDPOINTS as SECTORS
from kis_pipeline.simulator.rest_ticks import ENDPOINTS as TICKS
from kis_pipeline.simulator.state import MESSAGES, AuthError, SimState

ENDPOINTS: tuple[Endpoint, ...] = (
    *QUOTES,
    *TICKS,
    *CHARTS,
    *MINUTES,
    *RANKINGS,
    *RANKING_LISTS,
    *BONDS,
    *ETFS,
    *ELWS,
    *FLOWS,
    *FUTURES_OPTIONS,
    *ACTIVITY,
    *FINANCE,
    *BONUS_ISSUES,
    *CAPITAL_REDUCTIONS,
    *RIGHTS_ISSUES,
    *MERGERS,
    *COMPANY,
    *CONDITIONS,
    *NEWS,
    *CALENDAR,
    *SECTORS,
)

CONTENT_TYPE = "application/json; charset=utf-8"
CUSTTYPES = frozenset({"P", "B"})
GATEWAY_MESSAGES = {
    **MESSAGES,
    "EGW00132": "Content-Type이 유효하지 않습니다.",
    "EGW00205": "credentials_type이 유효하지 않습니다.(Bearer)",
    "EGW00208": "고객유형(custtype)이 유효하지 않습니다.",
    "OPSQ0002": "없는 서비스 코드 입니다.",
    "OPSQ9999": "JSON PARSING ERROR : tr_id not found",
}
VIEW_KEY: web.AppKey[MarketView] = web.AppKey("market_view", MarketView)
STATE_KEY: web.AppKey[SimState] = web.AppKey("sim_state", SimState)


def create_rest_app(state: SimState) -> web.Application:
    """The REST side of the simulator, bound to one `SimState`."""
    app = web.Application()
    view = MarketView(state.market, executions=state.recent_executions)
    app[VIEW_KEY] = view
    app[STATE_KEY] = state
    for endpoint in ENDPOINTS:
        app.router.add_get(endpoint.path, _gateway(state, view, endpoint))
    add_oauth_routes(app, state)
    add_admin_routes(app, state)
    app.router.add_route("*", "/uapi/{tail:.*}", _unknown_path)
    return app


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _respond(body: bytes, *, status: int, tr_id: str, tr_cont: str = "") -> web.Response:
    return web.Response(
        body=body,
        status=status,
        headers={"content-type": CONTENT_TYPE, "tr_id": tr_id, "tr_cont": tr_cont},
    )


def _gateway_error(code: str, tr_id: str, *, status: int = 500) -> web.Response:
    envelope = {"rt_cd": "1", "msg_cd": code, "msg1": GATEWAY_MESSAGES[code]}
    return _respond(_json(envelope), status=status, tr_id=tr_id)


def _auth_failure(error: AuthError, tr_id: str) -> web.Response:
    return _gateway_error(error.code, tr_id)


def _bearer(header: str) -> tuple[str, bool]:
    """(token, scheme ok) from an authorization header value."""
    scheme, _, token = header.strip().partition(" ")
    if not header.strip():
        return "", True
    return token.strip(), scheme.lower() == "bearer"


async def _unknown_path(request: web.Request) -> web.Response:
    return _gateway_error("OPSQ0002", request.headers.get("tr_id", ""), status=404)


def _gateway(
    state: SimState, view: MarketView, endpoint: Endpoint
) -> Callable[[web.Request], Awaitable[web.Response]]:
    limiter = state.rest_limiter

    async def handle(request: web.Request) -> web.Response:
        headers = request.headers
        tr_id = headers.get("tr_id", "").strip()
        if "application/json" not in headers.get("content-type", "").lower():
            return _gateway_error("EGW00132", tr_id)
        app_key = headers.get("appkey", "").strip()
        error = state.check_credentials(app_key, headers.get("appsecret", "").strip())
        if error is not None:
            return _auth_failure(error, tr_id)
        if not limiter.arrive(app_key):
            limiter.record(app_key, served=False)
            return _gateway_error("EGW00201", tr_id)
        token, scheme_ok = _bearer(headers.get("authorization", ""))
        if not scheme_ok:
            limiter.record(app_key, served=True)
            return _gateway_error("EGW00205", tr_id)
        error = state.authenticate(app_key, token)
        if error is not None:
            limiter.record(app_key, served=True)
            return _auth_failure(error, tr_id)
        if headers.get("custtype", "").strip() not in CUSTTYPES:
            limiter.record(app_key, served=True)
            return _gateway_error("EGW00208", tr_id)
        if not tr_id:
            limiter.record(app_key, served=True)
            return _gateway_error("OPSQ9999", tr_id)
        if tr_id != endpoint.tr_id:
            limiter.record(app_key, served=True)
            return _gateway_error("OPSQ0002", tr_id)

        plan = state.faults.plan(app_key)
        if plan.delay_s:
            await asyncio.sleep(plan.delay_s)
        if plan.egw00201:
            limiter.record(app_key, served=False)
            return _gateway_error("EGW00201", tr_id)
        limiter.record(app_key, served=True)
        if plan.revoke_token:
            state.revoke_token(app_key, token)
            return _gateway_error("EGW00121", tr_id)
        if plan.http500_body is not None:
            return web.Response(
                body=plan.http500_body,
                status=500,
                content_type="text/html" if plan.http500_body else None,
            )

        tr_cont_in = headers.get("tr_cont", "").strip()
        try:
            reply = endpoint.handler(view, Params(request.query), tr_cont_in)
        except BusinessError as exc:
            return _respond(_json(exc.body()), status=exc.status, tr_id=tr_id)
        corruptions = state.config.faults.corrupt
        body = _json(corrupt_body(reply.body, request.query, corruptions, tr_id=endpoint.tr_id))
        if plan.truncate:
            body = truncate_body(body)
        return _respond(body, status=200, tr_id=tr_id, tr_cont=reply.tr_cont)

    return handle
