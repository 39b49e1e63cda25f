"""Injected faults: each `--faults` kind reaches the client the way SPEC says it would."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from kis_pipeline.common.clock import KST
from kis_pipeline.simulator.config import FaultSpec, SimConfig
from kis_pipeline.simulator.server import SimulatorServer
from tests.simulator.rest_api import PRICE, Api

NOW = dt.datetime(2024, 5, 17, 18, 0, tzinfo=KST)
QUOTE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}


@contextmanager
def faulty(faults: str, **config: object) -> Iterator[tuple[SimulatorServer, Api]]:
    settings = SimConfig(
        universe=2, start=dt.date(2024, 1, 2), now=NOW, faults=FaultSpec.parse(faults), **config
    )  # type: ignore[arg-type]
    with SimulatorServer(settings) as server:
        caller = Api(server)
        try:
            yield server, caller
        finally:
            caller.close()


def test_http500_is_a_bodyless_gateway_error_and_auth_still_works() -> None:
    with faulty("http500=1") as (server, api):
        assert api.token  # /oauth2 is never faulted
        for _ in range(4):
            response = api.get(PRICE, QUOTE)
            assert response.status_code == 500
            with pytest.raises(ValueError):
                json.loads(response.content)
        assert server.stats()["faults"]["http500"] == 4


def test_egw00201_bursts_are_rate_errors_counted_as_rejected() -> None:
    with faulty("egw00201=1,egw00201_burst=3") as (server, api):
        response = api.get(PRICE, QUOTE)
        assert response.status_code == 500 and response.json()["msg_cd"] == "EGW00201"
        assert server.stats()["rest"][api.app_key]["rejected"] == 1


def test_latency_delays_every_answer() -> None:
    with faulty("latency_ms=150") as (_, api):
        assert api.token
        started = time.monotonic()
        assert api.get(PRICE, QUOTE).status_code == 200
        assert time.monotonic() - started >= 0.15


def test_timeout_hangs_past_the_client_deadline() -> None:
    with faulty("timeout=1,timeout_s=2") as (_, api):
        path, tr_id = PRICE
        with pytest.raises(httpx.ReadTimeout):
            api.http.get(path, params=QUOTE, headers=api.headers(tr_id), timeout=0.3)


def test_truncated_bodies_are_cut_json() -> None:
    with faulty("truncated=1") as (_, api):
        response = api.get(PRICE, QUOTE)
        assert response.status_code == 200
        assert response.content.startswith(b'{"output":')
        with pytest.raises(ValueError):
            json.loads(response.content)


def test_token_revoke_invalidates_the_token_once_and_a_new_one_is_issued() -> None:
    with faulty("token_revoke=1", token_issue_interval_s=1.0) as (_, api):
        old = api.token
        response = api.get(PRICE, QUOTE)
        assert response.status_code == 500 and response.json()["msg_cd"] == "EGW00121"
        assert api.get(PRICE, QUOTE).json()["msg_cd"] == "EGW00121"  # stays invalid
        time.sleep(1.05)
        api._token = None
        assert api.token != old


def test_the_same_seed_meets_the_same_faults() -> None:
    def pattern() -> list[int]:
        with faulty("http500=0.5", seed=42) as (_, api):
            return [api.get(PRICE, QUOTE).status_code for _ in range(16)]

    first = pattern()
    assert first == pattern()
    assert set(first) == {200, 500}
