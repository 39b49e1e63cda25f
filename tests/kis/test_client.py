"""Error classification, retries and token refresh of `KisClient`, through httpx.MockTransport.

Each handler plays the KIS gateway: envelopes with string values, EGW codes as HTTP 500,
token-endpoint errors in the `error_code` shape (SPEC §4.3).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from kis_pipeline.kis import client as client_module
from kis_pipeline.kis.auth import MemoryTokenStore
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.errors import (
    BusinessError,
    CredentialsRejected,
    HostUnreachable,
    KisConfigError,
    KisTransportError,
    RateLimited,
    TokenExpired,
)
from kis_pipeline.kis.ratelimit import LocalRateLimiter
from kis_pipeline.kis.settings import SIM_APP_KEY, KisSettings
from kis_pipeline.simulator.server import SimulatorServer
from tests.helpers.simulator import sim_environ

PATH = "/uapi/domestic-stock/v1/quotations/inquire-price"
SECRET = "SECRETVALUE" + "x" * 169
APP_KEY = "APPKEYVALUE" + "k" * 25
OK = {
    "rt_cd": "0",
    "msg_cd": "MCA00000",
    "msg1": "정상처리 되었습니다.",
    "output": {"stck_prpr": "71900"},
}


Handler = Callable[[httpx.Request], httpx.Response]
MakeClient = Callable[[Handler], KisClient]


def envelope(msg_cd: str, msg1: str, rt_cd: str = "1") -> dict[str, str]:
    return {"rt_cd": rt_cd, "msg_cd": msg_cd, "msg1": msg1}


class FakeKis:
    """Answers token requests itself and data requests from a script of responses."""

    def __init__(self, script: list[Callable[[httpx.Request], httpx.Response]]) -> None:
        self.script = list(script)
        self.data_requests: list[httpx.Request] = []
        self.tokens_issued = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/tokenP":
            self.tokens_issued += 1
            token = f"token-{self.tokens_issued}"
            return httpx.Response(
                200, json={"access_token": token, "token_type": "Bearer", "expires_in": 86400}
            )
        self.data_requests.append(request)
        step = self.script.pop(0) if self.script else (lambda r: httpx.Response(200, json=OK))
        return step(request)


def reply(status: int, body: object | bytes) -> Callable[[httpx.Request], httpx.Response]:
    def answer(_: httpx.Request) -> httpx.Response:
        if isinstance(body, bytes):
            return httpx.Response(status, content=body)
        return httpx.Response(status, json=body)

    return answer


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[MakeClient]:
    clients: list[KisClient] = []

    def make(fake: Handler) -> KisClient:
        settings = KisSettings.from_env(
            {
                "KIS_ENV": "real",
                "KIS_APP_KEY": APP_KEY,
                "KIS_APP_SECRET": SECRET,
                "KIS_STATE_DIR": str(tmp_path),
            }
        )
        client = KisClient(
            settings,
            transport=httpx.MockTransport(fake),
            limiter=LocalRateLimiter(1000.0),
            tokens=MemoryTokenStore(),
            backoff_base_s=0.001,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_success_sends_kis_headers_and_returns_the_envelope(
    make_client: MakeClient,
) -> None:
    fake = FakeKis([])
    client = make_client(fake)
    response = client.get(
        PATH, "FHKST01010100", {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
    )
    assert response.output() == [{"stck_prpr": "71900"}]
    sent = fake.data_requests[0]
    assert sent.headers["tr_id"] == "FHKST01010100"
    assert sent.headers["authorization"] == "Bearer token-1"
    assert sent.headers["appkey"] == APP_KEY
    assert sent.headers["custtype"] == "P"
    assert sent.url.params["FID_INPUT_ISCD"] == "005930"


def test_rate_limited_answers_are_retried_and_counted(
    make_client: MakeClient,
) -> None:
    egw = envelope("EGW00201", "초당 거래건수를 초과하였습니다.")
    fake = FakeKis([reply(500, egw), reply(500, egw), reply(200, OK)])
    client = make_client(fake)
    assert client.get(PATH, "FHKST01010100", {}).output()[0]["stck_prpr"] == "71900"
    assert len(fake.data_requests) == 3
    assert client.stats.retries == 2
    assert client.stats.calls_by_tr_id["FHKST01010100"] == 3


def test_rate_limited_also_when_kis_says_it_with_http_200(
    make_client: MakeClient,
) -> None:
    fake = FakeKis([reply(200, envelope("EGW00201", "초당 거래건수를 초과하였습니다."))])
    assert make_client(fake).get(PATH, "FHKST01010100", {}).msg_cd == "MCA00000"


def test_server_errors_timeouts_and_cut_bodies_are_retried(
    make_client: MakeClient,
) -> None:
    fake = FakeKis(
        [reply(500, b""), timeout, reply(200, b'{"rt_cd": "0", "msg'), reply(502, b"<html>")]
    )
    client = make_client(fake)
    assert client.get(PATH, "FHKST01010100", {}).msg_cd == "MCA00000"
    assert client.stats.retries == 4


def test_retries_give_up_with_the_last_error(make_client: MakeClient) -> None:
    egw = envelope("EGW00201", "초당 거래건수를 초과하였습니다.")
    fake = FakeKis([reply(500, egw)] * 20)
    client = make_client(fake)
    with pytest.raises(RateLimited) as caught:
        client.get(PATH, "FHKST01010100", {"FID_INPUT_ISCD": "005930"})
    assert caught.value.msg_cd == "EGW00201"
    assert len(fake.data_requests) == 8


def test_business_errors_are_not_retried_and_carry_context(
    make_client: MakeClient,
) -> None:
    fake = FakeKis(
        [reply(200, envelope("OPSQ2001", "ERROR INPUT FIELD NOT FOUND [FID_COND_MRKT_DIV_CODE]"))]
    )
    client = make_client(fake)
    with pytest.raises(BusinessError) as caught:
        client.get(PATH, "FHKST01010100", {"FID_INPUT_ISCD": "999999"})
    error = caught.value
    assert (error.msg_cd, error.tr_id, error.params) == (
        "OPSQ2001",
        "FHKST01010100",
        {"FID_INPUT_ISCD": "999999"},
    )
    assert "FID_INPUT_ISCD=999999" in str(error)
    assert len(fake.data_requests) == 1
    assert SECRET not in str(error) and APP_KEY not in str(error) and "token-1" not in str(error)


def test_expired_token_is_refreshed_exactly_once(
    make_client: MakeClient,
) -> None:
    expired = envelope("EGW00123", "기간이 만료된 token 입니다.")
    fake = FakeKis([reply(500, expired), reply(200, OK)])
    client = make_client(fake)
    assert client.get(PATH, "FHKST01010100", {}).msg_cd == "MCA00000"
    assert fake.tokens_issued == 2
    assert fake.data_requests[1].headers["authorization"] == "Bearer token-2"


def test_a_token_rejected_twice_is_an_error_not_a_loop(
    make_client: MakeClient,
) -> None:
    expired = envelope("EGW00123", "기간이 만료된 token 입니다.")
    fake = FakeKis([reply(500, expired)] * 5)
    with pytest.raises(TokenExpired):
        make_client(fake).get(PATH, "FHKST01010100", {})
    assert fake.tokens_issued == 2
    assert len(fake.data_requests) == 2


def test_rejected_credentials_say_so(make_client: MakeClient) -> None:
    def bad_key(request: httpx.Request) -> httpx.Response:
        body = {"error_code": "EGW00103", "error_description": "유효하지 않은 AppKey입니다."}
        return httpx.Response(403, json=body)

    client = make_client(bad_key)
    with pytest.raises(CredentialsRejected, match="EGW00103"):
        client.get(PATH, "FHKST01010100", {})


def test_unreachable_host_is_a_clear_transport_error(tmp_path: Path) -> None:
    settings = KisSettings.from_env(
        {"KIS_REST_URL": "http://127.0.0.1:9", "KIS_STATE_DIR": str(tmp_path)}
    )
    with (
        KisClient(
            settings,
            limiter=LocalRateLimiter(1000),
            tokens=MemoryTokenStore(),
            max_attempts=2,
            backoff_base_s=0.001,
        ) as client,
        pytest.raises(KisTransportError, match=r"cannot reach http://127\.0\.0\.1:9"),
    ):
        client.get(PATH, "FHKST01010100", {})


def test_approval_key_is_issued_with_secretkey_field(
    make_client: MakeClient,
) -> None:
    seen: list[dict[str, str]] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={"approval_key": "a2585daf-8c09-4587-9fce-000000000000"})

    client = make_client(gateway)
    assert client.approval_key() == "a2585daf-8c09-4587-9fce-000000000000"
    assert client.approval_key() == "a2585daf-8c09-4587-9fce-000000000000"
    assert len(seen) == 1
    assert seen[0]["secretkey"] == SECRET and "appsecret" not in seen[0]


# -- answers that no retry can change, against the simulator ---------------------------------


def sim_client(server: SimulatorServer, state: Path, **environ: str) -> KisClient:
    settings = KisSettings.from_env(sim_environ(server, state, **environ))
    return KisClient(settings, backoff_base_s=0.001)


def one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text
    return text


@pytest.mark.parametrize(
    ("prefix", "path", "named"),
    [
        ("/kis", PATH, "/kis/oauth2/tokenP"),
        ("", "/domestic-stock/v1/quotations/inquire-price", "/domestic-stock/v1/quotations"),
    ],
    ids=["wrong base URL: the token call", "wrong path: a data call"],
)
def test_a_404_that_is_not_kis_is_a_wrong_url_not_retried(
    sim_server: SimulatorServer, tmp_path: Path, prefix: str, path: str, named: str
) -> None:
    # The simulator, like a web server in front of the wrong host, answers unknown paths
    # outside /uapi with a plain 404 page.
    rest_url = sim_server.rest_url + prefix
    with (
        sim_client(sim_server, tmp_path, KIS_REST_URL=rest_url) as client,
        pytest.raises(KisConfigError) as caught,
    ):
        client.get(path, "FHKST01010100", {"FID_INPUT_ISCD": "005930"})
    message = one_line(caught.value)
    assert message.startswith(f"{named}") and "HTTP 404" in message
    assert "check KIS_REST_URL" in message
    assert max(client.stats.calls_by_tr_id.values()) == 1 and client.stats.retries == 0


def test_kis_own_404_envelope_is_still_read_as_kis_answer(
    sim_server: SimulatorServer, tmp_path: Path
) -> None:
    # Under /uapi the gateway itself answers an unknown service with its envelope (OPSQ0002).
    with (
        sim_client(sim_server, tmp_path) as client,
        pytest.raises(BusinessError, match="OPSQ0002"),
    ):
        client.get("/uapi/domestic-stock/v1/quotations/no-such-thing", "FHKST01010100", {})
    assert client.stats.calls_by_tr_id["FHKST01010100"] == 1


def test_a_foreign_4xx_is_not_retried_but_kis_throttling_still_is(make_client: MakeClient) -> None:
    proxy = FakeKis([reply(403, b"<html><body>Forbidden by proxy</body></html>")])
    with pytest.raises(KisConfigError, match=r"HTTP 403 .*not an answer of KIS's API"):
        make_client(proxy).get(PATH, "FHKST01010100", {})
    assert len(proxy.data_requests) == 1
    busy = FakeKis([reply(429, b"slow down"), reply(200, OK)])
    assert make_client(busy).get(PATH, "FHKST01010100", {}).msg_cd == "MCA00000"
    assert len(busy.data_requests) == 2


def test_a_wrong_secret_names_kis_app_secret_and_keeps_kis_code(
    sim_server: SimulatorServer, tmp_path: Path
) -> None:
    # The built-in simulator key accepts only its own secret, as a real key would.
    wrong = "WRONGSECRET" + "0" * 169
    with (
        sim_client(sim_server, tmp_path, KIS_APP_KEY=SIM_APP_KEY, KIS_APP_SECRET=wrong) as client,
        pytest.raises(CredentialsRejected) as caught,
    ):
        client.get(PATH, "FHKST01010100", {})
    message = one_line(caught.value)
    assert message.startswith("KIS refused KIS_APP_SECRET when issuing an access token")
    assert "EGW00105 유효하지 않은 AppSecret입니다." in message
    assert "KIS_APP_KEY" in message and wrong not in message
    assert client.stats.calls == 1


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A loopback port that refuses connections: bound, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_refused_connection_fails_fast_and_the_next_calls_fail_at_once(
    refused_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = KisSettings.from_env({"KIS_REST_URL": refused_url, "KIS_STATE_DIR": str(tmp_path)})
    with KisClient(
        settings, limiter=LocalRateLimiter(1000), tokens=MemoryTokenStore(), backoff_base_s=0.001
    ) as client:
        with pytest.raises(HostUnreachable) as caught:
            client.get(PATH, "FHKST01010100", {"FID_INPUT_ISCD": "005930"})
        message = one_line(caught.value)
        assert f"cannot reach {refused_url} (connection refused)" in message
        assert "KIS_REST_URL" in message
        # A few quick attempts, not eight rounds of backoff for every call.
        assert client.stats.calls == client_module.CONNECT_ATTEMPTS == 3
        # The other symbols of the run fail at once, with the same line.
        for symbol in ("000660", "035720"):
            with pytest.raises(HostUnreachable) as again:
                client.get(PATH, "FHKST01010100", {"FID_INPUT_ISCD": symbol})
            assert str(again.value) == message
        assert client.stats.calls == 3
        # Once the hold is over the host is tried again.
        monkeypatch.setattr(client_module, "UNREACHABLE_HOLD_S", 0.0)
        client._unreachable.clear()
        with pytest.raises(HostUnreachable):
            client.get(PATH, "FHKST01010100", {})
        assert client.stats.calls == 6
