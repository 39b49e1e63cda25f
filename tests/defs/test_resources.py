"""Resources carry their settings as values: an asset runs against a transport or a simulator
handed to `materialize`, with no KIS variable in the environment, and each deployment's
resources resolve to the backend it names."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import dagster as dg
import httpx
import pytest

from kis_pipeline.defs.fundamentals import dividends
from kis_pipeline.defs.resources import (
    VARIABLES,
    KisResource,
    WarehouseResource,
    deployment_environ,
    resources_for,
    simulator_resources,
)
from kis_pipeline.kis.endpoints.dividends import DIVIDENDS_PATH, DIVIDENDS_TR_ID
from kis_pipeline.kis.settings import SIM_APP_KEY, KisSettings
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.conftest import sim_environ

DIVIDEND_ROW = {
    "record_date": "20231231",
    "sht_cd": "005380",
    "isin_name": "현대차",
    "divi_kind": "결산",
    "face_val": "000005000",
    "per_sto_divi_amt": "000000008400",
    "divi_rate": "168.00",
    "stk_divi_rate": "  0.00",
    "divi_pay_dt": "2024/04/12",
    "stk_div_pay_dt": "",
    "odd_pay_dt": "",
    "stk_kind": "보통",
    "high_divi_gb": "Y",
}


@pytest.fixture(autouse=True)
def no_kis_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Nothing reaches the resources through the environment (nor a `.env` file)."""
    for name in (*VARIABLES.values(), "KIS_DEPLOYMENT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def places(tmp_path: Path) -> dict[str, str]:
    return {"state_dir": str(tmp_path / "state"), "warehouse_location": str(tmp_path / "wh")}


def test_an_asset_runs_on_a_mock_transport_handed_to_materialize(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def kis(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/oauth2/tokenP":
            return httpx.Response(200, json={"access_token": "T", "expires_in": 86400})
        body = {"output1": [DIVIDEND_ROW], "rt_cd": "0", "msg_cd": "MCA00000", "msg1": "ok"}
        return httpx.Response(200, content=json.dumps(body).encode())

    values = {**places(tmp_path), "rest_url": "http://kis.test", "symbols": "005380"}
    result = dg.materialize(
        [dividends],
        partition_key="2023",
        resources={
            "kis": KisResource(transport=httpx.MockTransport(kis), **values),
            "warehouse": WarehouseResource(**values),
        },
    )
    assert result.success
    calls = [r for r in seen if r.url.path == DIVIDENDS_PATH]
    assert [(r.headers["tr_id"], r.url.params["SHT_CD"]) for r in calls] == [
        (DIVIDENDS_TR_ID, "005380")
    ]
    frame = Warehouse(tmp_path / "wh").read("dividends")
    assert frame.select("symbol", "record_date", "dividend_per_share").rows() == [
        ("005380", dt.date(2023, 12, 31), 8400.0)
    ]


def test_an_asset_runs_on_an_in_process_simulator_given_as_values(
    sim_server: SimulatorServer, tmp_path: Path
) -> None:
    environ = sim_environ(sim_server, tmp_path / "state", KIS_WAREHOUSE=str(tmp_path / "wh"))
    key = {"app_key": environ["KIS_APP_KEY"], "app_secret": environ["KIS_APP_SECRET"]}
    # What a command that started the simulator hands its runs.
    resources = simulator_resources(
        KisSettings.from_env(environ), **key, **places(tmp_path), symbols="005930"
    )
    result = dg.materialize([dividends], partition_key="2025", resources=resources)
    assert result.success
    frame = Warehouse(tmp_path / "wh").read("dividends")
    truth = [d for d in sim_server.state.market.dividends("005930") if d.record_date.year == 2025]
    assert truth
    assert sorted(frame["record_date"]) == sorted(d.record_date for d in truth)
    assert set(frame["symbol"]) == {"005930"}


def resolved(deployment: str) -> KisSettings:
    with dg.build_resources(resources_for(deployment)) as built:
        assert built.warehouse.settings() == built.kis.settings()
        return built.kis.settings()


def test_the_local_deployment_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolved("local").env == "sim"
    monkeypatch.setenv("KIS_ENV", "paper")
    monkeypatch.setenv("KIS_APP_KEY", "PAPERKEY")
    monkeypatch.setenv("KIS_APP_SECRET", "PAPERSECRET")
    settings = resolved("local")
    assert (settings.env, settings.rest_url) == (
        "paper",
        "https://openapivts.koreainvestment.com:29443",
    )


def test_the_simulator_deployment_uses_the_simulator_it_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KIS_ENV", "real")  # the deployment says sim, whatever the variable
    monkeypatch.setenv("KIS_REST_URL", "http://127.0.0.1:18443")
    monkeypatch.setenv("KIS_WS_URL", "ws://127.0.0.1:18444")
    settings = resolved("simulator")
    assert (settings.env, settings.app_key.reveal()) == ("sim", SIM_APP_KEY)
    assert settings.master_url == "http://127.0.0.1:18443/common/master"
    monkeypatch.delenv("KIS_REST_URL")
    with pytest.raises(Exception, match="KIS_REST_URL"):
        resolved("simulator")


def test_the_processes_dev_launches_resolve_the_simulator_it_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    live = KisSettings.from_env({}).with_simulator("http://127.0.0.1:18443", "ws://127.0.0.1:1")
    for name, value in deployment_environ(live).items():
        monkeypatch.setenv(name, value)
    settings = resolved(os.environ["KIS_DEPLOYMENT"])
    assert (settings.rest_url, settings.ws_url) == (live.rest_url, live.ws_url)
    assert settings.master_url == live.master_url


def test_the_production_deployment_takes_its_keys_from_the_environment_only_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KIS_APP_KEY", "REALKEY")
    monkeypatch.setenv("KIS_APP_SECRET", "REALSECRET")
    settings = resolved("production")
    assert (settings.env, settings.rest_url) == ("real", "https://openapi.koreainvestment.com:9443")
    assert settings.app_key.reveal() == "REALKEY"
    # What Dagster shows of the resource: the variable's name, never its value.
    shown = repr(resources_for("production")["kis"])
    assert "KIS_APP_KEY" in shown and "REALKEY" not in shown


def test_an_unknown_deployment_is_one_line_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="use one of local, simulator, production"):
        resources_for("staging")
