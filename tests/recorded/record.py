"""Re-record the cassettes against a fresh simulator: `python -m tests.recorded.record`."""

from __future__ import annotations

import datetime as dt
import tempfile
import zoneinfo

from kis_pipeline.kis.auth import MemoryTokenStore
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.server import SimulatorServer
from tests.recorded.cassettes_config import CASSETTES, recorder
from tests.recorded.scenarios import SCENARIOS

RECORDING_CONFIG = SimConfig(
    seed=11,
    universe=40,
    start=dt.date(2023, 1, 2),
    now=dt.datetime(2026, 11, 20, 18, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Seoul")),
)


def main() -> None:
    CASSETTES.mkdir(exist_ok=True)
    with SimulatorServer(RECORDING_CONFIG) as server, tempfile.TemporaryDirectory() as state:
        for number, (name, scenario) in enumerate(SCENARIOS.items()):
            # An app key per cassette: each cassette holds its own token issuance, and KIS
            # (like the simulator) issues one token per key per minute.
            settings = KisSettings.from_env(
                {
                    "KIS_REST_URL": server.rest_url,
                    "KIS_STATE_DIR": state,
                    "KIS_APP_KEY": f"PSRECORD{number:028d}",
                    "KIS_APP_SECRET": f"RECORDSECRET{number:0168d}",
                }
            )
            path = CASSETTES / f"{name}.yaml"
            path.unlink(missing_ok=True)
            with (
                KisClient(settings, tokens=MemoryTokenStore()) as client,
                recorder(record_mode="all").use_cassette(path.name),
            ):
                frame = scenario(client)
            print(f"{path.name}: {frame.height} rows")


if __name__ == "__main__":
    main()
