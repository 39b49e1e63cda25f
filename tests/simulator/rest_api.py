"""A bare KIS REST caller for the simulator tests, and the endpoint they all call."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from kis_pipeline.simulator.server import SimulatorServer

PRICE = ("/uapi/domestic-stock/v1/quotations/inquire-price", "FHKST01010100")

_keys = itertools.count(1)


class Api:
    """A bare KIS REST caller with an app key of its own (deliberately not the project's
    client, so that these tests pin the wire format itself)."""

    def __init__(self, server: SimulatorServer, *, app_key: str | None = None) -> None:
        number = next(_keys)
        self.http = httpx.Client(base_url=server.rest_url, timeout=10)
        self.app_key = app_key or f"PSTESTREST{number:026d}"
        self.app_secret = f"SECRET{number:0174d}"
        self._token: str | None = None

    def issue_token(self) -> httpx.Response:
        return self.http.post(
            "/oauth2/tokenP",
            json={
                "grant_type": "client_credentials",
                "appkey": self.app_key,
                "appsecret": self.app_secret,
            },
        )

    @property
    def token(self) -> str:
        if self._token is None:
            response = self.issue_token()
            assert response.status_code == 200, response.text
            self._token = response.json()["access_token"]
        return self._token

    def headers(self, tr_id: str, **extra: str) -> dict[str, str]:
        return {
            "content-type": "application/json; charset=utf-8",
            "authorization": f"Bearer {self.token}",
            "appkey": self.app_key,
            "appsecret": self.app_secret,
            "tr_id": tr_id,
            "custtype": "P",
            **extra,
        }

    def get(
        self, endpoint: tuple[str, str], params: dict[str, str], **headers: str
    ) -> httpx.Response:
        path, tr_id = endpoint
        return self.http.get(path, params=params, headers=self.headers(tr_id, **headers))

    def ok(
        self, endpoint: tuple[str, str], params: dict[str, str], **headers: str
    ) -> dict[str, Any]:
        response = self.get(endpoint, params, **headers)
        assert response.status_code == 200, response.text
        assert response.headers["tr_id"] == endpoint[1]
        body = response.json()
        assert (body["rt_cd"], body["msg_cd"]) == ("0", "MCA00000"), body
        return body

    def close(self) -> None:
        self.http.close()
