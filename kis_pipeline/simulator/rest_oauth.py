"""The simulated `/oauth2/*` endpoints: access token, token revocation, WebSocket approval key.

Errors here use KIS's token-endpoint shape, HTTP 403 with `error_code`/`error_description`
(SPEC §3.1), not the `rt_cd` envelope. tokenP and Approval are also limited to one request
per second per app key (SPEC §5); a faster caller gets EGW00201 in the same 403 shape. On
tokenP the one-issuance-per-interval rule (EGW00133) is checked before that window.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from kis_pipeline.simulator.state import AuthError, SimState, auth_error

GRANT_TYPE = "client_credentials"


def _oauth_error(error: AuthError) -> web.Response:
    return web.json_response(
        {"error_code": error.code, "error_description": error.message}, status=403
    )


async def _json_body(request: web.Request) -> dict[str, Any] | AuthError:
    if "application/json" not in request.headers.get("content-type", "").lower():
        return AuthError("EGW00132", "Content-Type이 유효하지 않습니다.")
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        return AuthError("EGW00101", "유효하지 않은 요청입니다.")
    if not isinstance(body, dict):
        return AuthError("EGW00101", "유효하지 않은 요청입니다.")
    return body


def _grant_error(body: dict[str, Any]) -> AuthError | None:
    grant = body.get("grant_type")
    if not grant:
        return auth_error("EGW00115")
    if grant != GRANT_TYPE:
        return auth_error("EGW00116")
    return None


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    return value.strip() if isinstance(value, str) else ""


def add_oauth_routes(app: web.Application, state: SimState) -> None:
    async def token(request: web.Request) -> web.Response:
        body = await _json_body(request)
        if isinstance(body, AuthError):
            return _oauth_error(body)
        app_key, app_secret = _text(body, "appkey"), _text(body, "appsecret")
        error = _grant_error(body) or state.check_credentials(app_key, app_secret)
        # The one-per-interval rule answers first, so an immediate retry reads EGW00133.
        error = error or state.token_throttled(app_key)
        if error is None and not state.token_windows.arrive(app_key):
            error = auth_error("EGW00201")
        if error is not None:
            return _oauth_error(error)
        issued = state.issue_token(app_key)
        if isinstance(issued, AuthError):
            return _oauth_error(issued)
        remaining = max(0, int(issued.expires_at - state.now()))
        return web.json_response(
            {
                "access_token": issued.token,
                "access_token_token_expired": issued.expires_kst(),
                "token_type": "Bearer",
                "expires_in": remaining,
            }
        )

    async def revoke(request: web.Request) -> web.Response:
        body = await _json_body(request)
        if isinstance(body, AuthError):
            return _oauth_error(body)
        app_key = _text(body, "appkey")
        error = state.check_credentials(app_key, _text(body, "appsecret"))
        error = error or state.revoke_token(app_key, _text(body, "token"))
        if error is not None:
            return _oauth_error(error)
        return web.json_response({"code": 200, "message": "접근토큰 폐기에 성공하였습니다"})

    async def approval(request: web.Request) -> web.Response:
        body = await _json_body(request)
        if isinstance(body, AuthError):
            return _oauth_error(body)
        app_key = _text(body, "appkey")
        # The secret travels as `secretkey` here, unlike tokenP's `appsecret` (SPEC §3.3).
        error = _grant_error(body) or state.check_credentials(app_key, _text(body, "secretkey"))
        if error is None and not state.approval_windows.arrive(app_key):
            error = auth_error("EGW00201")
        if error is not None:
            return _oauth_error(error)
        return web.json_response({"approval_key": state.issue_approval_key(app_key)})

    app.router.add_post("/oauth2/tokenP", token)
    app.router.add_post("/oauth2/revokeP", revoke)
    app.router.add_post("/oauth2/Approval", approval)
