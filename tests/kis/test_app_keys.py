"""Several app keys (`KIS_APP_KEYS` / `KIS_APP_SECRETS`): the client's calls take turns between
the keys, each key with its own budget and token, and a wrong list is one line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.prices import fetch_current_price
from kis_pipeline.kis.errors import KisConfigError
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.simulator.server import SimulatorServer
from tests.helpers.simulator import sim_environ

KEYS = [f"PSMULTIKEY{n:026d}" for n in range(3)]
SECRETS = [f"MULTISECRET{n:0169d}" for n in range(3)]


def _environ(server: SimulatorServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    environ = sim_environ(server, tmp_path / "state")
    del environ["KIS_APP_KEY"], environ["KIS_APP_SECRET"]
    return {**environ, **extra}


def test_calls_take_turns_between_the_keys_each_with_its_own_token(
    sim_server: SimulatorServer, tmp_path: Path
) -> None:
    environ = _environ(
        sim_server, tmp_path, KIS_APP_KEYS=",".join(KEYS), KIS_APP_SECRETS=",".join(SECRETS)
    )
    settings = KisSettings.from_env(environ)
    assert [s.app_key.reveal() for s in settings.per_key()] == KEYS
    with KisClient(settings) as client:
        for _ in range(12):
            fetch_current_price(client, "005930")
    rest = sim_server.stats()["rest"]
    assert [rest[key]["served"] for key in KEYS] == [4, 4, 4]
    assert all(rest[key]["rejected"] == 0 for key in KEYS)
    # One token per key, each kept under the key's own id; the calls counted per key by a
    # label that reveals nothing of the key.
    assert client.stats.token_issues == 3
    labels = {s.key_label for s in settings.per_key()}
    assert set(client.stats.calls_by_key) == labels and len(labels) == 3
    assert all(key not in label for key in KEYS for label in labels)
    assert len({s.key_id for s in settings.per_key()}) == 3


@pytest.mark.parametrize(
    ("keys", "secrets", "expected"),
    [
        (
            ",".join(KEYS),
            ",".join(SECRETS[:2]),
            "KIS_APP_KEYS names 3 key(s) but KIS_APP_SECRETS 2",
        ),
        (f"{KEYS[0]},{KEYS[0]}", ",".join(SECRETS[:2]), "KIS_APP_KEYS names a key twice"),
    ],
)
def test_a_wrong_key_list_is_one_line(
    sim_server: SimulatorServer, tmp_path: Path, keys: str, secrets: str, expected: str
) -> None:
    environ = _environ(sim_server, tmp_path, KIS_APP_KEYS=keys, KIS_APP_SECRETS=secrets)
    with pytest.raises(KisConfigError, match=re.escape(expected)) as raised:
        KisSettings.from_env(environ)
    message = str(raised.value)
    assert "\n" not in message and not any(s in message for s in SECRETS)


def test_one_key_given_twice_in_different_variables_must_agree(
    sim_server: SimulatorServer, tmp_path: Path
) -> None:
    environ = _environ(
        sim_server,
        tmp_path,
        KIS_APP_KEY="PSOTHERKEY" + "0" * 26,
        KIS_APP_KEYS=",".join(KEYS),
        KIS_APP_SECRETS=",".join(SECRETS),
    )
    with pytest.raises(KisConfigError, match="KIS_APP_KEY and KIS_APP_KEYS are both set"):
        KisSettings.from_env(environ)
    environ["KIS_APP_KEY"] = KEYS[0]
    assert len(KisSettings.from_env(environ).per_key()) == 3
