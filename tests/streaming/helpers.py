"""Frames, segments and collectors for the streaming tests (no reference files are read)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.kis.ws.columns import COLUMNS
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.streaming.approval import approval_source
from kis_pipeline.streaming.collector import Collector, CollectorConfig, CollectorSummary
from kis_pipeline.streaming.spool import (
    CONTROL,
    RAW,
    SUFFIX,
    SegmentFile,
    Spool,
    encode_control,
    encode_record,
    read_segment,
)
from kis_pipeline.streaming.subscriptions import plan_feeds
from kis_pipeline.streaming.writer import WriterConfig
from tests.conftest import SIM_NOW

# One H0STCNT0 record in the portal example's shape (46 fields).
TRADE = (
    "005930^093354^71900^5^-100^-0.14^72023.83^72100^72400^71700^71900^71800^1^3052507"
    "^219853241700^5105^6937^1832^84.90^1366314^1159996^1^0.39^20.28^090020^5^-200^090820^5"
    "^-500^092619^2^200^20230612^20^N^65945^216924^1118750^2199206^0.05^2424142^125.92^0^^72100"
)
STATUS = "005930^N^(null)^112^^^^00^N^N^"  # 11 fields (10 on older frames)


def trade(
    symbol: str = "005930",
    *,
    hour: str = "093354",
    price: int = 71900,
    vol: int = 1,
    acml: int = 3052507,
    day: str = "20230612",
    width: int = 46,
) -> str:
    fields = TRADE.split("^")
    fields[0], fields[1], fields[2] = symbol, hour, str(price)
    fields[12], fields[13], fields[33] = str(vol), str(acml), day
    fields = fields[:width] + ["7"] * max(0, width - 46)
    return "^".join(fields)


def orderbook(symbol: str = "005930", *, hour: str = "093355", ask1: int = 72000) -> str:
    fields = ["0"] * len(COLUMNS["H0STASP0"])
    fields[0], fields[1], fields[2] = symbol, hour, "0"
    for level in range(10):
        fields[3 + level] = str(ask1 + 100 * level)  # ASKP1..10
        fields[13 + level] = str(ask1 - 100 * (level + 1))  # BIDP1..10
        fields[23 + level] = str(10 + level)  # ASKP_RSQN
        fields[33 + level] = str(20 + level)  # BIDP_RSQN
    return "^".join(fields)


def expected(symbol: str = "005930", *, day: str = "20230612") -> str:
    fields = TRADE.split("^")[:45]
    fields[0], fields[33], fields[43] = symbol, day, "B"
    return "^".join(fields)


def status(symbol: str = "005930", *, width: int = 11) -> str:
    fields = STATUS.split("^")
    fields[0] = symbol
    return "^".join(fields[:width])


def frame(tr_id: str, *records: str, encrypt: str = "0") -> str:
    return f"{encrypt}|{tr_id}|{len(records):03d}|" + "^".join(records)


@dataclass
class SegmentBuilder:
    """Writes a segment file the way the collector's writer does."""

    spool: Spool
    segment_id: str
    session: dict[str, Any] | None = None
    session_date: str | None = None
    seq: int = 0
    ns: int = field(default_factory=lambda: int(SIM_NOW.timestamp() * 1e9))
    parts: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.parts.append(
            encode_control(
                0,
                self.ns,
                {
                    "type": "segment",
                    "segment_id": self.segment_id,
                    "created_ns": self.ns,
                    "index": 1,
                    "session": self.session,
                    "session_date": self.session_date,
                },
            )
        )

    def add(self, text: str | bytes, kind: int = RAW) -> int:
        self.seq += 1
        self.ns += 1_000_000
        payload = text.encode() if isinstance(text, str) else text
        self.parts.append(encode_record(kind, self.seq, self.ns, payload))
        return self.seq

    def control(self, body: dict[str, Any]) -> None:
        self.seq += 1
        self.ns += 1_000_000
        self.parts.append(encode_control(self.seq, self.ns, body))

    def write(self, folder: Path | None = None) -> Path:
        folder = folder or self.spool.sealed_dir
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.segment_id}{SUFFIX}"
        segment = SegmentFile(path)
        segment.write(b"".join(self.parts))
        segment.close()
        return path


def spool_records(spool: Spool, folders: Iterable[Path] | None = None) -> Counter[str]:
    """Records per TR in every sealed and done segment, counted from the frame headers."""
    counts: Counter[str] = Counter()
    for folder in folders or (spool.sealed_dir, spool.done_dir):
        for path in sorted(folder.glob(f"*{SUFFIX}")):
            records = read_segment(path)
            for kind, payload in zip(records.kinds, records.payloads, strict=True):
                if kind == CONTROL:
                    continue
                parts = payload.split(b"|", 3)
                if len(parts) == 4 and parts[2].isdigit():
                    counts[parts[1].decode()] += int(parts[2])
    return counts


def sim_config(**overrides: Any) -> SimConfig:
    base: dict[str, Any] = {
        "seed": 11,
        "universe": 40,
        "start": dt.date(2023, 1, 2),
        "now": SIM_NOW,
        "tick_rate": 2000.0,
    }
    base.update(overrides)
    return SimConfig(**base)


def collector_for(
    settings: KisSettings,
    symbols: Sequence[str],
    trs: Sequence[str] = ("H0STCNT0", "H0STASP0"),
    *,
    seal_interval_s: float = 0.25,
    **overrides: Any,
) -> Collector:
    from kis_pipeline.kis.client import KisClient

    assert settings.ws_url
    config = CollectorConfig(
        ws_url=settings.ws_url,
        plan=plan_feeds(symbols, trs),
        writer=WriterConfig(seal_interval_s=seal_interval_s),
        subscribe_gap_s=0.0,
        backoff_base_s=0.05,
        backoff_cap_s=0.2,
        **overrides,
    )
    client = KisClient(settings, backoff_base_s=0.01)
    return Collector(
        config,
        spool=Spool.for_warehouse(settings.warehouse),
        key_id=settings.key_id,
        approval=approval_source(client),
    )


def run_collector(collector: Collector, seconds: float) -> CollectorSummary:
    return asyncio.run(collector.run(duration_s=seconds))


def wait_for(predicate: Any, timeout: float = 10.0, step: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(step)
