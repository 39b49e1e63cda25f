"""Under injected faults, the typed endpoints return exactly what a fault-free run returns.

One workload (daily charts of five symbols over a year, a multi-quote with an unknown code,
investor flows per stock and per market, a ranking) runs once against a fault-free simulator
and once against a simulator per fault scenario with the same market. The frames must be
equal, and the client's and the simulator's counters must show that the faults happened and
that each one cost exactly one extra call.

The simulator draws faults from an RNG seeded by its config, so a scenario meets the same
faults on every run: the probabilities below are small enough that no call exhausts its
retries, and no test depends on timing luck.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import polars as pl
import pytest

from kis_pipeline.kis.auth import FileTokenStore
from kis_pipeline.kis.client import DEFAULT_TIMEOUT, KisClient
from kis_pipeline.kis.endpoints import (
    fetch_daily_chart,
    fetch_investor_flows,
    fetch_market_investor_flows,
    fetch_multi_quote,
    fetch_volume_ranking,
)
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.simulator.config import FaultSpec, SimConfig
from kis_pipeline.simulator.server import SimulatorServer
from tests.helpers.simulator import SIM_NOW, sim_environ

SESSION = dt.date(2026, 11, 20)  # the last completed session at SIM_NOW
BASE = SimConfig(seed=23, universe=12, start=dt.date(2025, 6, 2), now=SIM_NOW, rate_limit=40.0)
CLIENT_RATE = "36"
CHART_SYMBOLS = ("005930", "000660", "373220", "207940", "005380")
FLOW_SYMBOLS = ("005930", "000270")
QUOTE_SYMBOLS = (*CHART_SYMBOLS, "999990", "000270", "068270", "035420")
CHART_START = dt.date(2025, 11, 20)
FLOW_START = dt.date(2026, 9, 1)
TOKEN_PATH = "/oauth2/tokenP"

# Retryable gateway faults: name -> (faults, client timeout).
RETRYABLE: dict[str, tuple[FaultSpec, float | None]] = {
    "http500": (FaultSpec(http500=0.2), None),
    "egw00201": (FaultSpec(egw00201=0.08, egw00201_burst=3), None),
    "truncated": (FaultSpec(truncated=0.2), None),
    # A hang of 1 s against a 0.5 s client timeout; few of them, each costs 0.5 s.
    "timeout": (FaultSpec(timeout=0.08, timeout_s=1.0), 0.5),
}


def workload(client: KisClient) -> dict[str, pl.DataFrame]:
    """What a nightly job would fetch, as frames keyed by dataset."""
    return {
        "charts": pl.concat(
            fetch_daily_chart(client, symbol, CHART_START, SESSION, adjusted=False)
            for symbol in CHART_SYMBOLS
        ),
        "quote": fetch_multi_quote(client, QUOTE_SYMBOLS),
        "flows": pl.concat(
            fetch_investor_flows(client, symbol, FLOW_START, SESSION) for symbol in FLOW_SYMBOLS
        ),
        "market_flows": fetch_market_investor_flows(client, "KOSPI", FLOW_START, SESSION),
        "ranking": fetch_volume_ranking(client, SESSION),
    }


def data_calls(client: KisClient) -> int:
    return sum(n for label, n in client.stats.calls_by_tr_id.items() if label != TOKEN_PATH)


def settings_for(server: SimulatorServer, state_dir: Path, rate: str = CLIENT_RATE) -> KisSettings:
    return KisSettings.from_env(sim_environ(server, state_dir, KIS_RATE_LIMIT=rate))


def assert_same_frames(got: dict[str, pl.DataFrame], want: dict[str, pl.DataFrame]) -> None:
    assert got.keys() == want.keys()
    for name, frame in want.items():
        assert got[name].equals(frame), f"{name} differs from the fault-free run"


class AnswerLog(httpx.BaseTransport):
    """Wraps the real transport and counts the gateway error codes the client was answered."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.error_codes: Counter[str] = Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if response.status_code != 200:
            response.read()
            try:
                body = json.loads(response.content)
            except ValueError:
                body = {}
            if isinstance(body, dict):
                code = body.get("msg_cd") or body.get("error_code")
                if code:
                    self.error_codes[str(code)] += 1
        return response

    def close(self) -> None:
        self._inner.close()


@dataclasses.dataclass(frozen=True)
class Baseline:
    frames: dict[str, pl.DataFrame]
    calls: int


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    with SimulatorServer(BASE) as server:
        settings = settings_for(server, tmp_path_factory.mktemp("baseline"))
        with KisClient(settings, backoff_base_s=0.01) as client:
            frames = workload(client)
            assert client.stats.retries == 0
            assert server.stats()["faults"] == {}
            calls = data_calls(client)
    # The workload is not trivial: every dataset has rows, the quote has its unknown code.
    assert all(not frame.is_empty() for frame in frames.values())
    assert frames["quote"].filter(~pl.col("found"))["symbol"].to_list() == ["999990"]
    return Baseline(frames, calls)


@pytest.fixture(scope="module", params=list(RETRYABLE))
def faulty_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, SimulatorServer]]:
    name: str = request.param
    faults, _ = RETRYABLE[name]
    with SimulatorServer(dataclasses.replace(BASE, faults=faults)) as server:
        yield name, server
        # Let requests the client gave up on finish hanging before the server stops.
        time.sleep(faults.timeout_s if faults.timeout else 0.0)


def test_retryable_faults_leave_every_frame_unchanged(
    faulty_server: tuple[str, SimulatorServer], baseline: Baseline, tmp_path: Path
) -> None:
    name, server = faulty_server
    timeout = RETRYABLE[name][1] or DEFAULT_TIMEOUT
    settings = settings_for(server, tmp_path / "state")

    with KisClient(settings, backoff_base_s=0.01, timeout=timeout) as client:
        frames = workload(client)

    assert_same_frames(frames, baseline.frames)
    injected = server.stats()["faults"].get(name, 0)
    assert injected > 0, f"no {name} fault was injected: the test proves nothing"
    # Every fault was retried, and each retry is one call more than the fault-free run.
    assert client.stats.retries >= injected
    assert data_calls(client) == baseline.calls + client.stats.retries
    assert client.stats.token_issues == 1


def test_revoked_tokens_are_replaced_and_the_frames_unchanged(
    baseline: Baseline, tmp_path: Path
) -> None:
    config = dataclasses.replace(
        BASE, faults=FaultSpec(token_revoke=0.08), token_issue_interval_s=1.0
    )
    with SimulatorServer(config) as server:
        settings = settings_for(server, tmp_path / "state")
        # The simulator issues one token a second per key; the store must not ask faster.
        tokens = FileTokenStore(settings.state_dir, settings.key_id, min_issue_interval=1.1)
        with KisClient(settings, tokens=tokens, backoff_base_s=0.01) as client:
            frames = workload(client)
        stats = server.stats()

    assert_same_frames(frames, baseline.frames)
    revoked = stats["faults"].get("token_revoke", 0)
    assert revoked > 0, "no token was revoked: the test proves nothing"
    app_key = settings.app_key.reveal()
    # One token at the start, one more after each revocation, each revocation one resend.
    assert stats["tokens_issued"][app_key] == 1 + revoked
    assert client.stats.token_issues == 1 + revoked
    assert data_calls(client) == baseline.calls + revoked
    assert client.stats.retries == 0


def test_tokens_expiring_mid_run_are_renewed_and_the_frames_unchanged(
    baseline: Baseline, tmp_path: Path
) -> None:
    config = dataclasses.replace(BASE, token_lifetime_s=2.0, token_issue_interval_s=0.5)
    with SimulatorServer(config) as server:
        # Slow enough that the workload outlives a token (about 4 s at 6 calls a second).
        settings = settings_for(server, tmp_path / "state", rate="6")
        tokens = FileTokenStore(settings.state_dir, settings.key_id, min_issue_interval=1.1)
        answers = AnswerLog()
        with KisClient(settings, tokens=tokens, transport=answers, backoff_base_s=0.01) as client:
            frames = workload(client)
        stats = server.stats()

    assert_same_frames(frames, baseline.frames)
    app_key = settings.app_key.reveal()
    assert stats["tokens_issued"][app_key] >= 2, "no token expired during the run"
    # The client renews ahead of expiry; a request that still meets an expired token is
    # renewed and resent once (EGW00123), never lost or retried otherwise.
    expired = answers.error_codes["EGW00123"]
    assert set(answers.error_codes) <= {"EGW00123"}
    assert data_calls(client) == baseline.calls + expired
    assert client.stats.retries == 0
