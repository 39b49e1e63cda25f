"""Settings come from the environment with errors that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from kis_pipeline.kis.errors import KisConfigError
from kis_pipeline.kis.settings import MASTER_URL, REAL_REST_URL, SIM_APP_KEY, KisSettings


def test_sim_is_the_default_and_has_built_in_keys() -> None:
    settings = KisSettings.from_env({})
    assert settings.env == "sim"
    assert settings.app_key.reveal() == SIM_APP_KEY
    assert settings.needs_embedded_simulator
    assert settings.rate_limit == 17.0
    assert settings.warehouse == Path("warehouse")


@pytest.mark.parametrize("env", ["paper", "real"])
def test_paper_and_real_require_keys_and_name_the_missing_one(env: str) -> None:
    with pytest.raises(KisConfigError, match=f"KIS_APP_KEY is not set .*KIS_ENV={env}"):
        KisSettings.from_env({"KIS_ENV": env})
    with pytest.raises(KisConfigError, match="KIS_APP_SECRET is not set"):
        KisSettings.from_env({"KIS_ENV": env, "KIS_APP_KEY": "k" * 36})


def test_real_defaults_and_limits() -> None:
    settings = KisSettings.from_env(
        {"KIS_ENV": "real", "KIS_APP_KEY": "k" * 36, "KIS_APP_SECRET": "s" * 180}
    )
    assert settings.rest_url == REAL_REST_URL
    assert settings.ws_url == "ws://ops.koreainvestment.com:21000"
    assert settings.master_url == MASTER_URL
    assert settings.rate_limit == 17.0
    paper = KisSettings.from_env(
        {"KIS_ENV": "paper", "KIS_APP_KEY": "k" * 36, "KIS_APP_SECRET": "s" * 180}
    )
    assert paper.rate_limit == 1.0


def test_unknown_env_bad_url_bad_rate_and_bad_symbols_are_reported() -> None:
    with pytest.raises(KisConfigError, match="KIS_ENV='prod' is not known"):
        KisSettings.from_env({"KIS_ENV": "prod"})
    with pytest.raises(KisConfigError, match="KIS_REST_URL='localhost:1' is not a valid URL"):
        KisSettings.from_env({"KIS_REST_URL": "localhost:1"})
    with pytest.raises(KisConfigError, match="KIS_WS_URL"):
        KisSettings.from_env({"KIS_WS_URL": "http://x:1"})
    with pytest.raises(KisConfigError, match="KIS_RATE_LIMIT='fast'"):
        KisSettings.from_env({"KIS_RATE_LIMIT": "fast"})
    with pytest.raises(KisConfigError, match="KIS_RATE_LIMIT must be positive"):
        KisSettings.from_env({"KIS_RATE_LIMIT": "0"})
    with pytest.raises(KisConfigError, match="invalid codes 5930"):
        KisSettings.from_env({"KIS_SYMBOLS": "005930, 5930"})


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("KIS_REST_URL", "http://127.0.0.1:2854A", "Invalid port: '2854A'"),
        ("KIS_WS_URL", "ws://127.0.0.1:2100O", "Invalid port: '2100O'"),
        ("KIS_MASTER_URL", "https://127.0.0.1:99999/common/master", "port 99999 is out of range"),
        ("KIS_REST_URL", "https://openapi koreainvestment.com:9443", "invalid host"),
    ],
)
def test_a_malformed_url_is_one_line_when_settings_are_read(
    name: str, value: str, problem: str
) -> None:
    # Caught here, before any command starts, not as httpx.InvalidURL on every request.
    with pytest.raises(KisConfigError) as caught:
        KisSettings.from_env({"KIS_ENV": "sim", name: value})
    message = str(caught.value)
    assert message.startswith(f"{name}={value!r} is not a valid URL")
    assert problem in message and "\n" not in message


def test_overrides_and_simulator_master_url() -> None:
    settings = KisSettings.from_env(
        {
            "KIS_REST_URL": "http://127.0.0.1:18443/",
            "KIS_WS_URL": "ws://127.0.0.1:18000",
            "KIS_RATE_LIMIT": "5",
            "KIS_SYMBOLS": "005930,000660,005930",
            "KIS_WAREHOUSE": "/tmp/wh",
        }
    )
    assert settings.rest_url == "http://127.0.0.1:18443"
    assert settings.master_url == "http://127.0.0.1:18443/common/master"
    assert settings.symbols == ("005930", "000660")
    assert settings.rate_limit == 5.0
    assert not settings.needs_embedded_simulator


def test_secrets_never_show_in_repr_or_str() -> None:
    secret = "s" * 179 + "Z"
    settings = KisSettings.from_env(
        {"KIS_ENV": "real", "KIS_APP_KEY": "APPKEY" + "k" * 30, "KIS_APP_SECRET": secret}
    )
    text = f"{settings!r} {settings} {settings.app_secret} {settings.app_key}"
    assert secret not in text
    assert "APPKEY" not in text
    assert settings.app_secret.reveal() == secret


def test_key_id_separates_environments_urls_and_keys_without_revealing_them() -> None:
    base = {"KIS_ENV": "real", "KIS_APP_KEY": "A" * 36, "KIS_APP_SECRET": "s" * 180}
    one = KisSettings.from_env(base).key_id
    other_key = KisSettings.from_env({**base, "KIS_APP_KEY": "B" * 36}).key_id
    other_url = KisSettings.from_env({**base, "KIS_REST_URL": "http://127.0.0.1:1"}).key_id
    assert len({one, other_key, other_url}) == 3
    assert "A" * 8 not in one


def test_dotenv_file_is_read_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("KIS_RATE_LIMIT=3\nKIS_SYMBOLS=005930\n")
    monkeypatch.setenv("KIS_SYMBOLS", "000660")
    monkeypatch.delenv("KIS_RATE_LIMIT", raising=False)
    settings = KisSettings.from_env(dotenv=dotenv)
    assert settings.rate_limit == 3.0
    assert settings.symbols == ("000660",)


def test_state_url_chooses_redis_and_a_wrong_one_is_one_line_without_its_password() -> None:
    assert KisSettings.from_env({}).state_url is None
    url = "redis://:pw@10.0.0.5:6379/2"
    assert KisSettings.from_env({"KIS_STATE_URL": f" {url} "}).state_url == url
    with pytest.raises(KisConfigError) as caught:
        KisSettings.from_env({"KIS_STATE_URL": "http://user:pw@10.0.0.5:6379"})
    assert str(caught.value) == (
        "KIS_STATE_URL='http://user:***@10.0.0.5:6379' is not a Redis URL; use "
        "redis://host:6379/0 (or unset it to keep the rate limit and tokens in KIS_STATE_DIR)"
    )


def test_the_etf_watchlist_defaults_to_four_kospi200_etfs_and_refuses_a_malformed_code() -> None:
    assert KisSettings.from_env({}).etf_symbols == ("069500", "102110", "122630", "114800")
    given = KisSettings.from_env({"KIS_ETF_SYMBOLS": " 069500,q500001 ,069500, 0080G0"})
    assert given.etf_symbols == ("069500", "Q500001", "0080G0")
    assert KisSettings.from_env({"KIS_ETF_SYMBOLS": " , "}).etf_symbols == (
        "069500",
        "102110",
        "122630",
        "114800",
    )
    with pytest.raises(KisConfigError, match="KIS_ETF_SYMBOLS has invalid codes 69500"):
        KisSettings.from_env({"KIS_ETF_SYMBOLS": "069500,69500"})


def test_the_elw_watchlist_is_empty_unless_set_and_refuses_a_malformed_code() -> None:
    assert KisSettings.from_env({}).elw_symbols == ()
    given = KisSettings.from_env({"KIS_ELW_SYMBOLS": " 58j297,57K001 ,58J297"})
    assert given.elw_symbols == ("58J297", "57K001")
    with pytest.raises(KisConfigError, match="KIS_ELW_SYMBOLS has invalid codes 005930X, J297"):
        KisSettings.from_env({"KIS_ELW_SYMBOLS": "58J297,005930X,J297"})
