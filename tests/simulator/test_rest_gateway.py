"""The simulated KIS gateway: tokens, approval keys, header checks and the per-key limits."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Iterator

import httpx
import pytest

from kis_pipeline.common.clock import KST
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.simulator.state import SIM_APP_KEY, SIM_APP_SECRET
from tests.simulator.rest_api import PRICE, Api

NOW = dt.datetime(2024, 5, 17, 18, 0, tzinfo=KST)
RATE = 8
# tokenP also takes one call per second per key (SPEC §5): waits below respect both rules.
CONFIG = SimConfig(
    seed=3,
    universe=5,
    start=dt.date(2024, 1, 2),
    now=NOW,
    rate_limit=RATE,
    token_issue_interval_s=1.0,
)
TOKEN_WAIT_S = 1.05
QUOTE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(CONFIG) as running:
        yield running


@pytest.fixture
def api(server: SimulatorServer) -> Iterator[Api]:
    caller = Api(server)
    yield caller
    caller.close()


def _error(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    return response.status_code, body.get("msg_cd") or body.get("error_code")


# ---- access tokens -------------------------------------------------------------------------


def test_token_response_has_the_documented_fields(api: Api) -> None:
    response = api.issue_token()
    body = response.json()
    assert response.status_code == 200 and body["token_type"] == "Bearer"
    assert len(body["access_token"]) > 300 and 0 < body["expires_in"] <= 86_400
    expires = dt.datetime.strptime(body["access_token_token_expired"], "%Y-%m-%d %H:%M:%S")
    assert expires.replace(tzinfo=KST) > dt.datetime.now(KST)


def test_a_second_token_call_inside_the_interval_is_egw00133_then_the_same_token(
    api: Api,
) -> None:
    first = api.issue_token().json()["access_token"]
    again = api.issue_token()
    assert again.status_code == 403
    assert again.json()["error_code"] == "EGW00133" and "error_description" in again.json()
    time.sleep(TOKEN_WAIT_S)
    assert api.issue_token().json()["access_token"] == first


def test_expired_token_is_egw00123_until_a_new_one_is_issued() -> None:
    config = SimConfig(
        universe=2,
        start=dt.date(2024, 1, 2),
        now=NOW,
        token_lifetime_s=0.5,
        token_issue_interval_s=1.0,
    )
    with SimulatorServer(config) as short_lived:
        caller = Api(short_lived)
        old = caller.token
        assert caller.get(PRICE, QUOTE).status_code == 200
        time.sleep(TOKEN_WAIT_S)
        assert _error(caller.get(PRICE, QUOTE)) == (500, "EGW00123")
        caller._token = None
        assert caller.token != old
        assert caller.get(PRICE, QUOTE).status_code == 200
        caller.close()


def test_revoked_token_is_egw00121(api: Api) -> None:
    token = api.token
    revoke = api.http.post(
        "/oauth2/revokeP", json={"appkey": api.app_key, "appsecret": api.app_secret, "token": token}
    )
    assert revoke.status_code == 200 and revoke.json()["code"] == 200
    assert _error(api.get(PRICE, QUOTE)) == (500, "EGW00121")


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        ("", "EGW00122"),
        ("Bearer not-a-token", "EGW00121"),
        ("Basic abc", "EGW00205"),
    ],
)
def test_bad_bearer_tokens_are_refused(api: Api, authorization: str, code: str) -> None:
    assert api.token  # registers the key
    assert _error(api.get(PRICE, QUOTE, authorization=authorization)) == (500, code)


def test_builtin_key_works_and_a_wrong_secret_for_it_does_not(server: SimulatorServer) -> None:
    caller = Api(server, app_key=SIM_APP_KEY)
    caller.app_secret = "wrong-secret"
    assert _error(caller.issue_token()) == (403, "EGW00105")
    caller.app_secret = SIM_APP_SECRET
    assert caller.get(PRICE, QUOTE).status_code == 200
    caller.close()


def test_missing_credentials_are_refused(api: Api) -> None:
    api.app_key = ""
    assert _error(api.issue_token()) == (403, "EGW00102")
    api.app_key, api.app_secret = "PSSOMEKEY", ""
    assert _error(api.issue_token()) == (403, "EGW00104")


# ---- request headers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"tr_id": "FHKST03010100"}, 500, "OPSQ0002"),
        ({"tr_id": ""}, 500, "OPSQ9999"),
        ({"content-type": "text/plain"}, 500, "EGW00132"),
        ({"custtype": ""}, 500, "EGW00208"),
    ],
)
def test_header_errors(api: Api, headers: dict[str, str], status: int, code: str) -> None:
    path, tr_id = PRICE
    response = api.http.get(path, params=QUOTE, headers={**api.headers(tr_id), **headers})
    assert _error(response) == (status, code)


def test_responses_echo_tr_id_and_carry_tr_cont(api: Api) -> None:
    response = api.get(PRICE, QUOTE)
    assert response.headers["tr_id"] == PRICE[1] and response.headers["tr_cont"] == ""
    assert response.headers["content-type"].startswith("application/json")


# ---- the per-second limit ------------------------------------------------------------------


async def _burst(api: Api, count: int) -> list[httpx.Response]:
    path, tr_id = PRICE
    headers = api.headers(tr_id)
    async with httpx.AsyncClient(base_url=str(api.http.base_url)) as client:
        return await asyncio.gather(
            *(client.get(path, params=QUOTE, headers=headers) for _ in range(count))
        )


def test_more_than_the_limit_in_one_second_is_egw00201_and_counted(
    api: Api, server: SimulatorServer
) -> None:
    assert api.token  # the token call is not a market-data request
    started = time.monotonic()
    responses = asyncio.run(_burst(api, RATE + 5))
    assert time.monotonic() - started < 0.9
    rejected = [r for r in responses if r.status_code == 500]
    assert len(rejected) == 5
    assert all(
        r.json() == {"rt_cd": "1", "msg_cd": "EGW00201", "msg1": "초당 거래건수를 초과하였습니다."}
        for r in rejected
    )
    counters = server.stats()["rest"][api.app_key]
    assert counters == {"served": RATE, "rejected": 5, "max_in_any_1s_window": RATE}


def test_a_paced_client_is_never_rejected_and_keys_do_not_share_limits(
    server: SimulatorServer,
) -> None:
    first, second = Api(server), Api(server)
    for _ in range(RATE):
        assert first.get(PRICE, QUOTE).status_code == 200
    assert second.get(PRICE, QUOTE).status_code == 200  # another key, its own window
    time.sleep(1.0)
    for _ in range(RATE):
        assert first.get(PRICE, QUOTE).status_code == 200
        time.sleep(1.0 / RATE)
    assert server.stats()["rest"][first.app_key]["rejected"] == 0
    first.close()
    second.close()


# ---- WebSocket credentials held by the state -----------------------------------------------


def test_approval_key_maps_to_its_app_key_and_is_limited_to_one_per_second(
    api: Api, server: SimulatorServer
) -> None:
    body = {"grant_type": "client_credentials", "appkey": api.app_key, "secretkey": api.app_secret}
    response = api.http.post(
        "/oauth2/Approval", json=body, headers={"content-type": "application/json; utf-8"}
    )
    key = response.json()["approval_key"]
    assert server.state.approval_app_key(key) == api.app_key
    assert server.state.approval_app_key("not-issued") is None
    assert _error(api.http.post("/oauth2/Approval", json=body)) == (403, "EGW00201")
    assert server.stats()["approval_keys_issued"][api.app_key] == 1


def test_one_websocket_session_per_app_key(server: SimulatorServer) -> None:
    state = server.state
    assert state.open_ws_session("PSWSKEY1") is True
    assert state.open_ws_session("PSWSKEY1") is False
    assert state.open_ws_session("PSWSKEY2") is True
    state.close_ws_session("PSWSKEY1")
    assert state.open_ws_session("PSWSKEY1") is True
    for key in ("PSWSKEY1", "PSWSKEY2"):
        state.close_ws_session(key)
