"""Fixtures of the Dagster definition tests: the shared simulator's market, a fresh warehouse
with the product's environment pointed at that simulator, and a local webhook that records what
alerts post."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse
from tests.defs.seed import use_simulator


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["content-length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, object]]]]:
    """(URL, the JSON bodies posted to it so far), served on loopback."""
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Receiver.received
    server.shutdown()


@pytest.fixture
def market(sim_server: SimulatorServer) -> Market:
    return sim_server.state.market


@pytest.fixture
def wh(sim_server: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    """An empty warehouse under `tmp_path`; KIS calls go to the shared simulator."""
    return use_simulator(monkeypatch, sim_server, tmp_path)
