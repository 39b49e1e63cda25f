"""Frames, segments and collectors for the streaming tests (no reference files are read)."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kis_pipeline.kis.settings import VENUE_CODES, KisSettings
from kis_pipeline.kis.ws.columns import COLUMNS, tr_on_venue
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.streaming.approval import approval_source
from kis_pipeline.streaming.collector import Collector
from kis_pipeline.streaming.collector_config import CollectorConfig, CollectorSummary
from kis_pipeline.streaming.promote import promote_segment
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
from kis_pipeline.warehouse import Warehouse
from tests.helpers.simulator import SIM_NOW, sim_environ

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
    refill: bool = False,
    venue: str = "KRX",
    **overrides: Any,
) -> Collector:
    """A collector of `symbols` on `settings`; `refill`: holes' trades refilled from REST;
    `venue`: the market whose feeds (`trs` named as KRX's) it streams."""
    from kis_pipeline.kis.client import KisClient
    from kis_pipeline.kis.endpoints import fetch_recent_executions

    assert settings.ws_url
    config = CollectorConfig(
        ws_url=settings.ws_url,
        plan=plan_feeds(symbols, [tr_on_venue(tr, venue) for tr in trs]),
        venue=venue,
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
        recent=(
            functools.partial(fetch_recent_executions, client, market=VENUE_CODES[venue])
            if refill
            else None
        ),
    )


def run_collector(collector: Collector, seconds: float) -> CollectorSummary:
    return asyncio.run(collector.run(duration_s=seconds))


def wait_for(predicate: Any, timeout: float = 10.0, step: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(step)


def spool_sessions(spool: Spool) -> dict[str, tuple[str, Counter[str]]]:
    """Per collector session in the spool: its local address (what the simulator knows it by)
    and the records it spooled, per TR."""
    out: dict[str, tuple[str, Counter[str]]] = {}
    paths = [p for d in (spool.sealed_dir, spool.done_dir) for p in d.glob(f"*{SUFFIX}")]
    for path in sorted(paths, key=lambda p: p.name):
        records = read_segment(path)
        current = (records.header().get("session") or {}).get("session_id")
        for kind, payload in zip(records.kinds, records.payloads, strict=True):
            if kind == CONTROL:
                body = json.loads(payload)
                if body["type"] == "session_start":
                    current = body["session_id"]
                    out[current] = (body.get("local_address", ""), Counter())
                elif body["type"] == "session_end" and body["session_id"] == current:
                    current = None
                continue
            parts = payload.split(b"|", 3)
            if current is not None and len(parts) == 4 and parts[2].isdigit():
                out.setdefault(current, ("", Counter()))[1][parts[1].decode()] += int(parts[2])
    return out


@dataclass
class Ledger:
    """What the simulator sent one app key against what the warehouse holds, per TR."""

    sent: Counter[str] = field(default_factory=Counter)  # records written to its sessions
    websocket: Counter[str] = field(default_factory=Counter)  # rows from the WebSocket
    rest: int = 0  # trade rows refilled from REST
    executions: int = 0  # trades the simulator's tapes made (sent or not)
    missing: int = 0  # trades neither the WebSocket nor REST brought
    problems: list[str] = field(default_factory=list)  # broken promises

    def report(self) -> str:
        lines = []
        for tr_id in sorted(self.sent):
            sent, stored = self.sent[tr_id], self.websocket[tr_id]
            lines.append(
                f"{tr_id}: sent {sent}, stored {stored}, lost in flight {sent - stored} "
                f"({(sent - stored) / max(sent, 1):.3%})"
            )
        lines.append(
            f"trades: {self.executions} executed, {self.rest} refilled from REST, "
            f"{self.missing} missing ({self.missing / max(self.executions, 1):.3%})"
        )
        return "; ".join(lines)


TABLE_OF_TR = {"H0STCNT0": "trade_ticks", "H0STASP0": "orderbook_ticks"}


def sent_against_stored(
    server: Any, warehouse: Any, spool: Spool, app_key: str, venue: str = "KRX"
) -> Ledger:
    """The ledger of what the simulator sent `app_key` and the warehouse holds, with a problem
    for each broken promise: every tick sent is stored, or was lost in a session a recorded
    gap follows; every trade `venue`'s tapes made is stored (from the WebSocket or REST) once,
    or belongs to a gap whose refill says it did not reach back."""
    import polars as pl

    stats = server.stats()
    gaps = warehouse.read("stream_gaps") if "stream_gaps" in warehouse.tables() else None
    before = set(gaps["session_before"]) if gaps is not None else set()
    spans = [
        (row["started_at"].timestamp(), row["ended_at"].timestamp())
        for row in (gaps.iter_rows(named=True) if gaps is not None else ())
    ]
    spooled = spool_sessions(spool)
    by_address = {address: sid for sid, (address, _) in spooled.items()}
    ledger = Ledger()
    for session in stats["ws_sessions"]:
        if session["app_key"] != app_key:
            continue
        sid = by_address.get(session["peer"])
        got = spooled[sid][1] if sid is not None else Counter()
        for tr_id, per in session["ticks"].items():
            sent = sum(per.values())
            ledger.sent[tr_id] += sent
            if got[tr_id] > sent:
                ledger.problems.append(f"session {sid} stored more {tr_id} than it was sent")
            closed = session["closed_at"]
            # Lost in flight: its session ends in a recorded gap.
            if got[tr_id] < sent and not (
                sid in before or any(a - 1 <= closed <= b + 1 for a, b in spans)
            ):
                lost = sent - got[tr_id]
                ledger.problems.append(f"{lost} {tr_id} of session {sid} lost outside any gap")
    uncovered: set[str] = set()
    for row in gaps.iter_rows(named=True) if gaps is not None else ():
        if row["rest_covered"] is not True:
            uncovered |= set((row["rest_uncovered"] or "").split(",")) - {""}
            if not row["rest_uncovered"]:
                uncovered.add("*")  # not refilled, or the refill was never recorded: any symbol
    trades = warehouse.read("trade_ticks")
    for tr_id, table in TABLE_OF_TR.items():
        if table in warehouse.tables():
            frame = warehouse.read(table)
            if "source" in frame.columns:
                frame = frame.filter(pl.col("source").fill_null("websocket") == "websocket")
            ledger.websocket[tr_id] = frame.height
    for symbol, executed in stats["executions_by_venue"][VENUE_CODES[venue]].items():
        mine = trades.filter(pl.col("symbol") == symbol)
        ws = mine.filter(pl.col("source") == "websocket")
        rest = mine.filter(pl.col("source") == "rest")
        missing = executed - ws.height - rest.height
        ledger.executions += executed
        ledger.rest += rest.height
        ledger.missing += missing
        if missing < 0:
            ledger.problems.append(f"{symbol}: {-missing} trades stored twice")
        elif missing and not {symbol, "*"} & uncovered:
            ledger.problems.append(f"{symbol}: {missing} trades lost outside a gap left uncovered")
        # Cumulative volume tells the tape: what is stored adds up to it, never beyond.
        ws = ws.sort("cum_volume")
        span = ws["cum_volume"][-1] - ws["cum_volume"][0] + ws["volume"][0]
        stored = ws["volume"].sum() + rest["volume"].sum()
        if stored > span or (missing == 0 and stored != span):
            ledger.problems.append(f"{symbol}: volume {stored} stored for {span} traded")
    return ledger


def settings_for(server: SimulatorServer, root: Path, **extra: str) -> KisSettings:
    environ = sim_environ(server, root / "state", KIS_WAREHOUSE=str(root / "warehouse"), **extra)
    return KisSettings.from_env(environ)


def persist_all(settings: KisSettings) -> Warehouse:
    warehouse = Warehouse(settings.warehouse)
    spool = Spool.for_warehouse(settings.warehouse)
    for segment_id in spool.sealed_ids():
        promote_segment(warehouse, spool, segment_id)
    return warehouse


def symbols_of(server: object, n: int) -> list[str]:
    return [listing.symbol for listing in server.state.market.listings[:n]]  # type: ignore[attr-defined]


def fake_collector(url: str, root: Path, **overrides: float) -> Collector:
    config = CollectorConfig(
        ws_url=url,
        plan=plan_feeds(["005930"], ("H0STCNT0",)),
        writer=WriterConfig(seal_interval_s=0.1),
        subscribe_gap_s=0.0,
        backoff_base_s=0.05,
        backoff_cap_s=0.1,
        **overrides,  # type: ignore[arg-type]
    )
    return Collector(config, spool=Spool.for_warehouse(root), key_id="fake", approval=lambda s: "k")


def stream_persisting(settings: KisSettings, symbols: Sequence[str], duration: float) -> str:
    """`kis-pipeline stream --persist` of `symbols` for `duration` seconds (exit 0 asserted);
    its output."""
    from kis_pipeline.cli.stream import run_stream

    lines: list[str] = []
    status = run_stream(
        settings,
        duration=duration,
        symbols=list(symbols),
        persist=True,
        seal_interval_s=0.2,
        echo=lines.append,
    )
    assert status == 0, lines
    return "\n".join(lines)
