"""Recorded KIS exchanges replay offline through the real client, and hold no credentials."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import yaml

from kis_pipeline.kis import schemas
from kis_pipeline.kis.auth import MemoryTokenStore
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.ratelimit import LocalRateLimiter
from kis_pipeline.kis.settings import SIM_APP_SECRET, KisSettings
from tests.recorded.cassettes_config import (
    CASSETTES,
    SCRUBBED,
    SECRET_BODY_FIELDS,
    SECRET_HEADERS,
    recorder,
)
from tests.recorded.scenarios import SCENARIOS, SESSION, SYMBOLS

TESTS = Path(__file__).parents[1]
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")
BEARER = re.compile(r"Bearer\s+(?!SCRUBBED)[A-Za-z0-9._-]{8,}")


@pytest.fixture
def replay_client(tmp_path: Path) -> Iterator[KisClient]:
    # The port is never contacted: every request must be answered by the cassette.
    settings = KisSettings.from_env(
        {"KIS_REST_URL": "http://127.0.0.1:9", "KIS_STATE_DIR": str(tmp_path)}
    )
    with KisClient(
        settings, limiter=LocalRateLimiter(1000.0), tokens=MemoryTokenStore(), max_attempts=1
    ) as client:
        yield client


def replay(name: str, client: KisClient) -> pl.DataFrame:
    with recorder().use_cassette(f"{name}.yaml") as cassette:
        frame = SCENARIOS[name](client)
        assert cassette.all_played, f"{name}: the client made fewer requests than recorded"
    return frame


def test_daily_chart_replays_two_pages_into_typed_bars(replay_client: KisClient) -> None:
    frame = replay("daily_chart", replay_client)
    assert frame.schema == schemas.DAILY_PRICES
    assert replay_client.stats.calls_by_tr_id["FHKST03010100"] == 2
    assert frame["date"].is_sorted() and frame["date"].n_unique() == frame.height
    assert frame["date"].max() == SESSION
    assert (frame["low"] <= frame["close"]).all() and (frame["close"] <= frame["high"]).all()


def test_multi_quote_replay_reports_the_unknown_code(replay_client: KisClient) -> None:
    frame = replay("multi_quote", replay_client)
    assert frame["symbol"].to_list() == SYMBOLS
    assert frame.filter(~pl.col("found"))["symbol"].to_list() == ["999999"]


def test_volume_ranking_replay_is_thirty_ranked_rows(replay_client: KisClient) -> None:
    frame = replay("volume_ranking", replay_client)
    assert frame["rank"].to_list() == list(range(1, 31))
    assert frame["volume"].is_sorted(descending=True)
    assert set(frame["date"].to_list()) == {SESSION}


def test_holiday_calendar_replay_marks_weekends_closed(replay_client: KisClient) -> None:
    frame = replay("holiday_calendar", replay_client)
    weekends = frame.filter(pl.col("date").dt.weekday() >= 6)
    assert weekends.height > 0 and not weekends["is_trading_day"].any()


def secrets_in_cassette(path: Path) -> list[str]:
    """Every place in a cassette where a credential or token shows."""
    text = path.read_text(encoding="utf-8")
    problems = [f"{path.name}: JWT-like token" for _ in JWT.findall(text)]
    problems += [f"{path.name}: bearer token" for _ in BEARER.findall(text)]
    if SIM_APP_SECRET in text:
        problems.append(f"{path.name}: the simulator's app secret")
    for number, interaction in enumerate(yaml.safe_load(text).get("interactions", [])):
        request, response = interaction["request"], interaction["response"]
        for header in request.get("headers", {}):
            if header.lower() in SECRET_HEADERS:
                problems.append(f"{path.name}#{number}: request header {header}")
        bodies = [request.get("body"), response.get("body", {}).get("string")]
        for body in bodies:
            try:
                data = json.loads(body) if body else None
            except (TypeError, ValueError):
                continue
            if isinstance(data, dict):
                for field in SECRET_BODY_FIELDS:
                    if field in data and data[field] != SCRUBBED:
                        problems.append(f"{path.name}#{number}: body field {field}")
    return problems


def test_no_cassette_under_tests_holds_a_key_secret_or_token() -> None:
    cassettes = sorted(TESTS.rglob("*.yaml"))
    assert {p.name for p in CASSETTES.glob("*.yaml")} <= {p.name for p in cassettes}
    assert len(cassettes) >= 4
    problems = [problem for path in cassettes for problem in secrets_in_cassette(path)]
    assert problems == []


def test_the_secret_scan_catches_a_leaked_cassette(tmp_path: Path) -> None:
    leaked = {
        "interactions": [
            {
                "request": {
                    "body": json.dumps({"appkey": "PS1234567890", "appsecret": SIM_APP_SECRET}),
                    "headers": {"authorization": ["Bearer abcdefghijkl"]},
                },
                "response": {
                    "body": {
                        "string": json.dumps({"access_token": "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0"})
                    }
                },
            }
        ]
    }
    path = tmp_path / "leak.yaml"
    path.write_text(yaml.safe_dump(leaked))
    found = " ".join(secrets_in_cassette(path))
    for expected in (
        "JWT-like",
        "bearer",
        "app secret",
        "header authorization",
        "field appkey",
        "field appsecret",
        "field access_token",
    ):
        assert expected in found
