"""Simulator configuration: market shape, enforced limits and injected faults."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields

from kis_pipeline.simulator.corrupt import Corruption

DEFAULT_SEED = 7
DEFAULT_UNIVERSE = 50
MAX_UNIVERSE = 2700
DEFAULT_START = dt.date(2015, 1, 2)
# The real service allows 18 REST calls per second per app key (SPEC §5).
DEFAULT_RATE_LIMIT = 18.0
DEFAULT_TICK_RATE = 200.0
# Tokens live 24 h on the real service (SPEC §3.1); tests shorten this to exercise EGW00123.
DEFAULT_TOKEN_LIFETIME_S = 86_400.0
# Real KIS allows one issuance per minute per app key (EGW00133).
DEFAULT_TOKEN_ISSUE_INTERVAL_S = 60.0
MAX_REGISTRATIONS = 41


@dataclass(frozen=True)
class FaultSpec:
    """Faults the simulator injects, parsed from `--faults` (e.g. `http500=0.01,latency_ms=20`).

    Probabilities are per REST request; `egw00201_burst` starts a burst of that many
    consecutive EGW00201 answers with probability `egw00201`; `ws_drop_every_s` closes each
    WebSocket session after that many seconds; `extra_column` appends one field to every
    WebSocket record; each `corrupt=FIELD:VALUE:SYMBOL[:YYYYMMDD[:TR_ID]]` rewrites one field of a
    symbol's records in REST answers and master files (`simulator.corrupt`).
    """

    http500: float = 0.0  # HTTP 500 with an EGW00001/2-free, body-less gateway error
    egw00201: float = 0.0  # rate-exceeded answers even below the limit
    egw00201_burst: int = 1
    latency_ms: float = 0.0  # added to every REST answer
    timeout: float = 0.0  # probability that a request hangs for `timeout_s`
    timeout_s: float = 30.0
    truncated: float = 0.0  # probability that a body is cut short
    token_revoke: float = 0.0  # probability that a request finds its token revoked (EGW00121)
    ws_drop_every_s: float = 0.0
    extra_column: bool = False
    corrupt: tuple[Corruption, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> FaultSpec:
        """Parse `name=value,name,...`; a bare name sets a flag or a probability of 1."""
        if not text:
            return cls()
        known = {f.name: f for f in fields(cls)}
        values: dict[str, object] = {}
        corruptions: list[Corruption] = []
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, _, raw = item.partition("=")
            name = name.strip().lower()
            if name == "corrupt":
                corruptions.append(Corruption.parse(raw))
                continue
            if name not in known:
                raise ValueError(
                    f"unknown fault {name!r} in --faults; known faults: {', '.join(sorted(known))}"
                )
            kind = known[name].type
            try:
                if kind in ("bool", bool):
                    values[name] = raw.strip().lower() not in ("0", "false", "no") if raw else True
                elif kind in ("int", int):
                    values[name] = int(raw) if raw else 1
                else:
                    values[name] = float(raw) if raw else 1.0
            except ValueError:
                raise ValueError(f"fault {name!r} needs a number, got {raw!r}") from None
        if corruptions:
            values["corrupt"] = tuple(corruptions)
        return cls(**values)  # type: ignore[arg-type]

    def describe(self) -> str:
        active = [
            f"{f.name}={getattr(self, f.name)}"
            for f in fields(self)
            if f.name != "corrupt" and getattr(self, f.name) != f.default
        ]
        active += [f"corrupt={c}" for c in self.corrupt]
        return ",".join(active) or "none"


@dataclass(frozen=True)
class SimConfig:
    """Everything that shapes one simulator instance. Same config + same clock = same data."""

    seed: int = DEFAULT_SEED
    universe: int = DEFAULT_UNIVERSE
    start: dt.date = DEFAULT_START
    rate_limit: float = DEFAULT_RATE_LIMIT
    tick_rate: float = DEFAULT_TICK_RATE
    faults: FaultSpec = field(default_factory=FaultSpec)
    token_lifetime_s: float = DEFAULT_TOKEN_LIFETIME_S
    token_issue_interval_s: float = DEFAULT_TOKEN_ISSUE_INTERVAL_S
    max_registrations: int = MAX_REGISTRATIONS
    # KIS sends PINGPONG every so often and drops a client that stays silent (SPEC §15.3).
    ws_ping_interval_s: float = 20.0
    ws_pong_timeout_s: float = 60.0
    # Fixed "now" (Asia/Seoul) for reproducible tests; None follows the wall clock.
    now: dt.datetime | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.universe <= MAX_UNIVERSE:
            raise ValueError(
                f"--universe must be between 1 and {MAX_UNIVERSE}, got {self.universe}"
            )
        if self.rate_limit <= 0:
            raise ValueError(f"--rate-limit must be positive, got {self.rate_limit}")
        if self.tick_rate < 0:
            raise ValueError(f"--tick-rate must not be negative, got {self.tick_rate}")
