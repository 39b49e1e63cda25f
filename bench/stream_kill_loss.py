"""Ticks lost when the tick collector is killed -9 and restarted, against what the simulator sent.

Each round starts a collector (`kis-pipeline stream`, trades + order book of the
first `--symbols` symbols) on a private simulator, kills it -9 at a random moment once it has
sealed a few segments, and the next round restarts it; a last collector streams 3 s and stops
cleanly. Then the spool is recovered and persisted, and per TR it prints what the simulator
wrote to the collector's sockets (its own counter, the truth), what reached the warehouse from
the WebSocket, and for trades what REST refilled and what is still missing of the trades the
simulator's tapes executed. `gaps` counts the `stream_gaps` rows, and how many of them REST
covered completely.

    .venv/bin/python bench/stream_kill_loss.py [--rounds 5] [--tick-rate 3000] [--symbols 6]
        [--seed 1]

Loss in flight grows with how far the collector is behind when it dies, so with the machine's
load: compare runs made side by side.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tick-rate", type=float, default=3000.0)
    parser.add_argument("--symbols", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kis-kill-loss-") as folder:
        measure(args, Path(folder))


def measure(args: argparse.Namespace, root: Path) -> None:
    import datetime as dt

    import polars as pl

    import kis_pipeline.streaming.tables  # noqa: F401  (registers the tick tables)
    from kis_pipeline.simulator.config import SimConfig
    from kis_pipeline.simulator.server import SimulatorServer
    from kis_pipeline.streaming.promote import promote_segment
    from kis_pipeline.streaming.recovery import recover_all_idle
    from kis_pipeline.streaming.spool import Spool
    from kis_pipeline.warehouse import Warehouse

    rng = random.Random(args.seed)
    config = SimConfig(
        seed=11,
        universe=40,
        start=dt.date(2023, 1, 2),
        tick_rate=args.tick_rate,
    )
    with SimulatorServer(config) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KIS_")}
        env.update(
            KIS_ENV="sim",
            KIS_APP_KEY="PSBENCHKILL" + "0" * 25,
            KIS_APP_SECRET="BENCHSECRET" + "0" * 169,
            KIS_REST_URL=server.rest_url,
            KIS_WS_URL=server.ws_url,
            KIS_STATE_DIR=str(root / "state"),
            KIS_WAREHOUSE=str(root / "warehouse"),
        )
        symbols = ",".join(x.symbol for x in server.state.market.listings[: args.symbols])
        spool = Spool.for_warehouse(root / "warehouse")

        def collector(duration: float) -> subprocess.Popen[bytes]:
            argv = ["--duration", str(duration), "--symbols", symbols, "--seal-interval", "0.1"]
            return subprocess.Popen(
                [sys.executable, "-m", "kis_pipeline.cli", "stream", *argv],
                env=env,
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

        for _ in range(args.rounds):
            wanted = len(spool.sealed_ids()) + 3
            process = collector(60)
            deadline = time.monotonic() + 60
            while len(spool.sealed_ids()) < wanted and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.6))
            process.send_signal(signal.SIGKILL)
            process.wait()
        collector(3).wait()
        stats = server.stats()
    recover_all_idle(spool)
    warehouse = Warehouse(root / "warehouse")
    for segment_id in spool.sealed_ids():
        promote_segment(warehouse, spool, segment_id)
    trades = warehouse.read("trade_ticks")
    source = (
        pl.col("source").fill_null("websocket")
        if "source" in trades.columns
        else pl.lit("websocket")
    )
    stored = {
        "H0STCNT0": trades.filter(source == "websocket").height,
        "H0STASP0": warehouse.read("orderbook_ticks").height,
    }
    rest = trades.filter(source == "rest").height
    for tr_id, per in sorted(stats["ticks"].items()):
        sent = sum(per.values())
        lost = sent - stored[tr_id]
        print(f"{tr_id}: sent {sent}, stored {stored[tr_id]}, lost {lost} ({lost / sent:.3%})")
    executions = stats.get("executions")
    if executions is not None:
        executed = sum(executions.values())
        missing = executed - stored["H0STCNT0"] - rest
        print(
            f"trades: {executed} executed, {rest} refilled from REST, "
            f"{missing} missing ({missing / executed:.3%})"
        )
    if "stream_gaps" in warehouse.tables():
        gaps = warehouse.read("stream_gaps")
        covered = gaps.filter(pl.col("rest_covered").fill_null(False)).height
        print(f"gaps: {gaps.height}, covered by REST: {covered}")


if __name__ == "__main__":
    main()
