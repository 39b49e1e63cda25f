"""The simulator WebSocket app's settings (from `SimConfig`) and what it counts (`WsStats`),
kept on the aiohttp app under `WS_SETTINGS` and `WS_STATS`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from kis_pipeline.simulator.config import SimConfig

# KIS sends PINGPONG about every 20 s (3rd-party logs); silent clients are dropped.
DEFAULT_PING_INTERVAL_S = 20.0
DEFAULT_PONG_TIMEOUT_S = 60.0
DEFAULT_BATCH_INTERVAL_S = 0.01
DEFAULT_MAX_BACKLOG_S = 10.0
_MIN_BACKLOG_RECORDS = 50_000


@dataclass(frozen=True)
class WsAppSettings:
    """Knobs of the WebSocket app; `from_config` reads them off `SimConfig`."""

    tick_rate: float = 200.0
    max_registrations: int = 41
    ping_interval_s: float = DEFAULT_PING_INTERVAL_S
    pong_timeout_s: float = DEFAULT_PONG_TIMEOUT_S
    batch_interval_s: float = DEFAULT_BATCH_INTERVAL_S
    drop_every_s: float = 0.0
    extra_column: bool = False
    # A client further behind than this many seconds of ticks is dropped as too slow.
    max_backlog_s: float = DEFAULT_MAX_BACKLOG_S

    @classmethod
    def from_config(cls, config: SimConfig, **overrides: Any) -> WsAppSettings:
        values: dict[str, Any] = {
            "tick_rate": config.tick_rate,
            "max_registrations": config.max_registrations,
            "ping_interval_s": config.ws_ping_interval_s,
            "pong_timeout_s": config.ws_pong_timeout_s,
            "drop_every_s": config.faults.ws_drop_every_s,
            "extra_column": config.faults.extra_column,
        }
        values.update(overrides)
        return cls(**values)

    @property
    def max_backlog_records(self) -> int:
        return max(_MIN_BACKLOG_RECORDS, int(self.tick_rate * self.max_backlog_s))


@dataclass
class WsStats:
    """What the WebSocket app did, for tests and /sim/stats."""

    records: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # app key, tr, sym
    frames: int = 0
    sessions_opened: int = 0
    sessions_rejected: int = 0  # OPSP8996
    drops: Counter[str] = field(default_factory=Counter)  # reason -> sessions dropped
    replies: Counter[str] = field(default_factory=Counter)  # msg_cd -> acks sent
    pingpong_sent: int = 0
    pingpong_answered: int = 0

    def records_sent(self, tr_id: str, symbol: str, app_key: str | None = None) -> int:
        return sum(
            n
            for (key, tr, sym), n in self.records.items()
            if tr == tr_id and sym == symbol and (app_key is None or key == app_key)
        )


WS_STATS = web.AppKey("kis_ws_stats", WsStats)
WS_SETTINGS = web.AppKey("kis_ws_settings", WsAppSettings)
