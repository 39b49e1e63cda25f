"""`SimulatorServer` and `run_forever`: ports, URLs, lifecycle, stats and the master files."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import zipfile
from io import BytesIO

import httpx
import pytest

from kis_pipeline.common.clock import KST
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.server import SimulatorServer
from tests.simulator.rest_api import PRICE, Api

CONFIG = SimConfig(
    universe=3, start=dt.date(2024, 1, 2), now=dt.datetime(2024, 5, 17, 18, 0, tzinfo=KST)
)
QUOTE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_free_ports_urls_and_a_clean_stop() -> None:
    with SimulatorServer(CONFIG) as server:
        assert server.rest_url == f"http://127.0.0.1:{server.rest_port}"
        assert server.ws_url == f"ws://127.0.0.1:{server.ws_port}"
        assert server.master_url == f"{server.rest_url}/common/master"
        assert server.rest_port != server.ws_port
        assert httpx.get(f"{server.rest_url}/sim/stats").status_code == 200
        url = server.rest_url
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/sim/stats")


def test_fixed_ports_are_used_and_a_busy_port_is_reported() -> None:
    port = _free_port()
    with SimulatorServer(CONFIG, rest_port=port) as server:
        assert server.rest_port == port
        with pytest.raises(OSError, match=str(port)):
            SimulatorServer(CONFIG, rest_port=port).start()


def test_stats_report_rest_counts_tokens_and_ticks_and_reset() -> None:
    with SimulatorServer(CONFIG) as server:
        api = Api(server)
        for _ in range(3):
            assert api.get(PRICE, QUOTE).status_code == 200
        server.state.stats.record_ticks("H0STCNT0", "005930", 5)
        stats = httpx.get(f"{server.rest_url}/sim/stats").json()
        assert stats["rest"][api.app_key] == {"served": 3, "rejected": 0, "max_in_any_1s_window": 3}
        assert stats["tokens_issued"][api.app_key] == 1
        assert stats["ticks"] == {"H0STCNT0": {"005930": 5}} and stats["ticks_total"] == 5
        assert server.stats()["rest"] == stats["rest"]
        assert httpx.post(f"{server.rest_url}/sim/stats/reset").status_code == 200
        after = server.stats()
        assert after["rest"] == {} and after["ticks_total"] == 0
        assert api.get(PRICE, QUOTE).status_code == 200  # tokens survive a reset
        api.close()


def test_master_files_are_served_without_auth() -> None:
    with SimulatorServer(CONFIG) as server:
        response = httpx.get(f"{server.master_url}/kospi_code.mst.zip")
        assert response.status_code == 200
        with zipfile.ZipFile(BytesIO(response.content)) as archive:
            assert archive.namelist() == ["kospi_code.mst"]
        assert httpx.get(f"{server.master_url}/nothing.zip").status_code == 404


def test_run_forever_prints_its_urls_and_stops_on_sigterm() -> None:
    rest, ws = _free_port(), _free_port()
    script = (
        "import datetime as dt\n"
        "from kis_pipeline.simulator.config import SimConfig\n"
        "from kis_pipeline.simulator.server import run_forever\n"
        "config = SimConfig(universe=2, start=dt.date(2024, 1, 2))\n"
        f"run_forever(config, '127.0.0.1', {rest}, {ws})\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        assert f"http://127.0.0.1:{rest}" in lines[0]
        assert f"ws://127.0.0.1:{ws}" in lines[1]
        assert httpx.get(f"http://127.0.0.1:{rest}/sim/stats").status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
