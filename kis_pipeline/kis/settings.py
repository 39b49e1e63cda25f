"""`KisSettings`: every environment variable of the product, read and checked in one place.

`KIS_ENV` is resolved here and nowhere else. A `.env` file in the working directory may set
the same variables; the process environment wins over it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
from dotenv import dotenv_values

from kis_pipeline.common.overseas_exchanges import EXCHANGES
from kis_pipeline.kis.errors import KisConfigError
from kis_pipeline.kis.secrets import Secret

ENVIRONMENTS = ("sim", "paper", "real")

REAL_REST_URL = "https://openapi.koreainvestment.com:9443"
REAL_WS_URL = "ws://ops.koreainvestment.com:21000"
PAPER_REST_URL = "https://openapivts.koreainvestment.com:29443"
PAPER_WS_URL = "ws://ops.koreainvestment.com:31000"
MASTER_URL = "https://new.real.download.dws.co.kr/common/master"

# One below what KIS allows (18/s real, SPEC §5) leaves room for clock jitter between hosts.
DEFAULT_RATE_LIMITS = {"real": 17.0, "paper": 1.0, "sim": 17.0}

# The simulator's built-in credentials: obviously fake, safe to print in docs, never valid at KIS.
SIM_APP_KEY = "PSSIMULATORKEY0000000000000000000000"
SIM_APP_SECRET = "SIMULATORSECRET" + "0" * 165

_SYMBOL = re.compile(r"^(?:Q?\d{6}|[0-9A-Z]{6})$")
# KIS_ETF_SYMBOLS when unset: four large KRX ETFs on KOSPI200 (KODEX 200, TIGER 200,
# KODEX 레버리지, KODEX 인버스).
DEFAULT_ETF_SYMBOLS = ("069500", "102110", "122630", "114800")
# A DNS name or an IPv4/IPv6 address: what httpx leaves after parsing a usable URL.
_HOST = re.compile(r"^[0-9A-Za-z.:_-]+$")


@dataclass(frozen=True)
class KisSettings:
    """Resolved configuration. `rest_url` is None only for `sim` before a simulator is started."""

    env: str
    app_key: Secret
    app_secret: Secret
    rest_url: str | None
    ws_url: str | None
    master_url: str
    rate_limit: float
    symbols: tuple[str, ...] | None
    warehouse: Path
    state_dir: Path
    # Where the rate limit and tokens live when workers span hosts; None: files in state_dir.
    state_url: str | None = None
    # KIS_CATALOG as given (None: a SQLite catalog inside the warehouse folder).
    catalog: str | None = None
    # KIS_WAREHOUSE when it is object storage (s3://bucket/prefix); `warehouse` is then a local
    # folder for what cannot live there (the tick spool, API caches, Dagster's home).
    data_url: str | None = None
    # The app keys after the first (KIS_APP_KEYS / KIS_APP_SECRETS): (key, secret) pairs.
    more_keys: tuple[tuple[Secret, Secret], ...] = ()
    # KIS_VENUE: whose daily prices and ticks (KRX, NXT or both combined); `venue` records it.
    venue: str = "KRX"
    # KIS_MINUTE_SYMBOLS: the minute-bar watchlist; None: the day's most traded names.
    minute_symbols: tuple[str, ...] | None = None
    # KIS_OVERSEAS_MINUTE_SYMBOLS: (exchange, ticker) pairs whose minute bars are kept.
    overseas_minute_symbols: tuple[tuple[str, str], ...] = ()
    # KIS_OVERSEAS_TICK_SYMBOLS: (exchange, ticker) pairs whose delayed trades the tick
    # collector streams beside the domestic feeds (`overseas_ticks`).
    overseas_tick_symbols: tuple[tuple[str, str], ...] = ()
    # KIS_BOND_SYMBOLS: the KRX-listed bonds (12-character codes) whose daily bars are kept.
    bond_symbols: tuple[str, ...] = ()
    # KIS_ETF_SYMBOLS: the ETFs (and ETNs) whose NAV against price is kept day by day.
    etf_symbols: tuple[str, ...] = DEFAULT_ETF_SYMBOLS
    # KIS_ELW_SYMBOLS: the ELWs whose daily prices and volatilities are kept. No default: an
    # ELW expires within months, so any fixed list would soon name codes KIS no longer knows.
    elw_symbols: tuple[str, ...] = ()
    # KIS_CONDITION / KIS_HTS_ID: a screening condition saved from the HTS and its user.
    condition: str | None = None
    hts_id: str | None = None
    # KIS_INDEX_BAR_SECONDS: the length of the index bars kept (SPEC §12.5 does not page).
    index_bar_seconds: int = 600

    @property
    def market_code(self) -> str:
        """The venue as KIS's FID_COND_MRKT_DIV_CODE (SPEC §1): J, NX or UN."""
        return VENUE_CODES[self.venue]

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        overrides: Mapping[str, str] | None = None,
        dotenv: Path | None = Path(".env"),
        require_keys: bool = True,
    ) -> KisSettings:
        """Read the settings from `environ` (default: the process environment plus `.env`).

        `require_keys=False` is for commands that never call KIS (reading the warehouse): the
        app key and secret may then be missing with any KIS_ENV. `overrides` win over both
        (the values a Dagster resource carries).
        """
        if environ is None:
            file_values = dotenv_values(dotenv) if dotenv and dotenv.is_file() else {}
            merged = {k: v for k, v in file_values.items() if v is not None}
            merged.update(os.environ)
            environ = merged
        if overrides:
            environ = {**environ, **overrides}
        env = (environ.get("KIS_ENV") or "sim").strip().lower()
        if env not in ENVIRONMENTS:
            raise KisConfigError(
                f"KIS_ENV={env!r} is not known; use one of {', '.join(ENVIRONMENTS)} (default sim)"
            )
        pairs = _key_pairs(environ.get("KIS_APP_KEYS"), environ.get("KIS_APP_SECRETS"))
        app_key = (environ.get("KIS_APP_KEY") or "").strip()
        app_secret = (environ.get("KIS_APP_SECRET") or "").strip()
        if pairs and app_key and app_key != pairs[0][0]:
            raise KisConfigError(
                "KIS_APP_KEY and KIS_APP_KEYS are both set and disagree; set only KIS_APP_KEYS "
                "(all the keys) or only KIS_APP_KEY (one)"
            )
        if pairs:
            app_key, app_secret = pairs[0]
        if env == "sim":
            app_key = app_key or SIM_APP_KEY
            app_secret = app_secret or SIM_APP_SECRET
        elif require_keys:
            for name, value in (("KIS_APP_KEY", app_key), ("KIS_APP_SECRET", app_secret)):
                if not value:
                    raise KisConfigError(
                        f"{name} is not set (required when KIS_ENV={env}); export it or put it "
                        "in .env, or use KIS_ENV=sim to run on the built-in simulator"
                    )
        default_rest = {"real": REAL_REST_URL, "paper": PAPER_REST_URL}.get(env)
        default_ws = {"real": REAL_WS_URL, "paper": PAPER_WS_URL}.get(env)
        rest_url = _url(environ, "KIS_REST_URL", ("http", "https")) or default_rest
        ws_url = _url(environ, "KIS_WS_URL", ("ws", "wss")) or default_ws
        master_url = _url(environ, "KIS_MASTER_URL", ("http", "https"))
        state_dir = Path(
            environ.get("KIS_STATE_DIR") or Path.home() / ".cache" / "kis-pipeline"
        ).expanduser()
        warehouse = (environ.get("KIS_WAREHOUSE") or "warehouse").strip()
        data_url = warehouse if warehouse.startswith("s3://") else ""
        if not master_url:
            # The simulator serves the master files itself, beside its REST API.
            master_url = f"{rest_url}/common/master" if env == "sim" and rest_url else MASTER_URL
        return cls(
            env=env,
            app_key=Secret(app_key),
            app_secret=Secret(app_secret),
            rest_url=rest_url,
            ws_url=ws_url,
            master_url=master_url,
            rate_limit=_rate(environ.get("KIS_RATE_LIMIT"), DEFAULT_RATE_LIMITS[env]),
            symbols=_symbols(environ.get("KIS_SYMBOLS")),
            minute_symbols=_symbols(environ.get("KIS_MINUTE_SYMBOLS"), "KIS_MINUTE_SYMBOLS"),
            index_bar_seconds=_bar_seconds(environ.get("KIS_INDEX_BAR_SECONDS")),
            overseas_minute_symbols=parse_overseas_pairs(
                environ.get("KIS_OVERSEAS_MINUTE_SYMBOLS")
            ),
            overseas_tick_symbols=parse_overseas_pairs(
                environ.get("KIS_OVERSEAS_TICK_SYMBOLS"), "KIS_OVERSEAS_TICK_SYMBOLS"
            ),
            bond_symbols=_bond_codes(environ.get("KIS_BOND_SYMBOLS")),
            etf_symbols=_symbols(environ.get("KIS_ETF_SYMBOLS"), "KIS_ETF_SYMBOLS")
            or DEFAULT_ETF_SYMBOLS,
            elw_symbols=_elw_codes(environ.get("KIS_ELW_SYMBOLS")),
            condition=(environ.get("KIS_CONDITION") or "").strip() or None,
            hts_id=(environ.get("KIS_HTS_ID") or "").strip() or None,
            state_url=_state_url(environ.get("KIS_STATE_URL")),
            warehouse=state_dir / "warehouse" if data_url else Path(warehouse).expanduser(),
            state_dir=state_dir,
            catalog=(environ.get("KIS_CATALOG") or "").strip() or None,
            data_url=data_url or None,
            more_keys=tuple((Secret(k), Secret(v)) for k, v in pairs[1:]),
            venue=parse_venue(environ.get("KIS_VENUE")),
        )

    @property
    def needs_embedded_simulator(self) -> bool:
        return self.env == "sim" and self.rest_url is None

    def with_simulator(self, rest_url: str, ws_url: str) -> KisSettings:
        """These settings pointed at a running simulator (the master files come from it too)."""
        return replace(
            self, rest_url=rest_url, ws_url=ws_url, master_url=f"{rest_url}/common/master"
        )

    def per_key(self) -> list[KisSettings]:
        """One settings per app key, the first being these without the others."""
        keys = [(self.app_key, self.app_secret), *self.more_keys]
        return [replace(self, app_key=k, app_secret=v, more_keys=()) for k, v in keys]

    @property
    def key_label(self) -> str:
        """A short name for the app key in logs and tables, derived from `key_id`."""
        return key_label_of(self.key_id)

    @property
    def key_id(self) -> str:
        """A stable file-safe id for (environment, base URL, app key); reveals none of them."""
        material = f"{self.env}|{self.rest_url}|{self.app_key.reveal()}".encode()
        return hashlib.sha256(material).hexdigest()[:20]

    def require_rest_url(self) -> str:
        if not self.rest_url:
            raise KisConfigError(
                "no KIS REST URL: with KIS_ENV=sim start a simulator (`kis-pipeline sim`) and set "
                "KIS_REST_URL, or run a top-level command that starts one for you"
            )
        return self.rest_url


# KIS_VENUE values and their market division codes; the names are the `venue` column's.
VENUE_CODES = {"KRX": "J", "NXT": "NX", "KRX+NXT": "UN"}


def parse_venue(raw: str | None, name: str = "KIS_VENUE") -> str:
    """KIS_VENUE (or the option `name`) as one of `VENUE_CODES` (KisConfigError names the
    choices)."""
    value = (raw or "KRX").strip().upper()
    if value not in VENUE_CODES:
        given = f"{name} {raw!r}" if name.startswith("-") else f"{name}={raw!r}"
        raise KisConfigError(
            f"{given} is not known; use one of {', '.join(VENUE_CODES)} (default KRX)"
        )
    return value


def key_label_of(key_id: str) -> str:
    """The short name of the app key whose `KisSettings.key_id` is `key_id`: a prefix of a
    hash, so neither the key nor its secret can be read back from it."""
    return f"key-{key_id[:8]}"


def _url(environ: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    """The URL in `name`, checked now so that a typo fails here, not on every request."""
    raw = (environ.get(name) or "").strip()
    if not raw:
        return None
    expected = f"expected {' or '.join(s + '://' for s in schemes)}host:port"
    try:
        url = httpx.URL(raw)
        port = url.port
    except httpx.InvalidURL as exc:
        problem: str | None = str(exc) or "cannot be parsed"
    else:
        problem = None
        if url.scheme not in schemes or not url.host:
            problem = "no scheme or host" if not url.host else f"scheme {url.scheme!r}"
        elif not _HOST.match(url.host):
            problem = f"invalid host {url.host!r}"
        elif port is not None and not 0 < port < 65536:
            problem = f"port {port} is out of range"
    if problem:
        raise KisConfigError(f"{name}={raw!r} is not a valid URL ({problem}); {expected}")
    return raw.rstrip("/")


def _rate(raw: str | None, default: float) -> float:
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise KisConfigError(
            f"KIS_RATE_LIMIT={raw!r} is not a number (requests per second)"
        ) from None
    if value <= 0:
        raise KisConfigError(f"KIS_RATE_LIMIT must be positive, got {raw!r}")
    return value


INDEX_BAR_SECONDS = (60, 600, 3600)


def parse_overseas_pairs(
    raw: str | None, name: str = "KIS_OVERSEAS_MINUTE_SYMBOLS"
) -> tuple[tuple[str, str], ...]:
    """`NAS:AAPL,HKS:00700` as (exchange, ticker) pairs; a wrong one is one line naming the
    setting (or option) `name`."""
    pairs = []
    for item in (raw or "").split(","):
        item = item.strip().upper()
        if not item:
            continue
        excd, _, ticker = item.partition(":")
        if excd not in EXCHANGES or not ticker:
            raise KisConfigError(
                f"{name} has {item!r}; write EXCHANGE:TICKER pairs such as "
                f"NAS:AAPL,HKS:00700 (exchanges: {', '.join(EXCHANGES)})"
            )
        pairs.append((excd, ticker))
    return tuple(dict.fromkeys(pairs))


def _bar_seconds(raw: str | None) -> int:
    text = (raw or "").strip()
    if not text:
        return 600
    if not text.isdigit() or int(text) not in INDEX_BAR_SECONDS:
        raise KisConfigError(
            f"KIS_INDEX_BAR_SECONDS must be one of {', '.join(map(str, INDEX_BAR_SECONDS))} "
            f"(one minute, ten minutes, an hour), got {raw!r}"
        )
    return int(text)


def _symbols(raw: str | None, name: str = "KIS_SYMBOLS") -> tuple[str, ...] | None:
    if raw is None or not raw.strip():
        return None
    symbols = tuple(dict.fromkeys(s.strip().upper() for s in raw.split(",") if s.strip()))
    bad = [s for s in symbols if not _SYMBOL.match(s)]
    if bad:
        raise KisConfigError(
            f"{name} has invalid codes {', '.join(bad)}; use 6-character KRX codes like 005930"
        )
    return symbols


_BOND_CODE = re.compile(r"^KR[0-9A-Z]{10}$")
# An ELW's short code: the issuer's two digits, then four letters or digits (58J297).
_ELW_CODE = re.compile(r"^[0-9]{2}[0-9A-Z]{4}$")


def _codes(raw: str | None, name: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    """A watchlist of codes (comma-separated, deduplicated, upper-cased), checked now: a
    malformed one stops the start in one line that says what a code looks like (`what`)."""
    codes = tuple(dict.fromkeys(s.strip().upper() for s in (raw or "").split(",") if s.strip()))
    bad = [c for c in codes if not pattern.match(c)]
    if bad:
        raise KisConfigError(f"{name} has invalid codes {', '.join(bad)}; use {what}")
    return codes


def _bond_codes(raw: str | None) -> tuple[str, ...]:
    """KIS_BOND_SYMBOLS: KRX bond codes (KR and ten letters or digits)."""
    return _codes(raw, "KIS_BOND_SYMBOLS", _BOND_CODE, "KRX bond codes like KR103502GA34")


def _elw_codes(raw: str | None) -> tuple[str, ...]:
    """KIS_ELW_SYMBOLS: ELW short codes (two digits, then four letters or digits)."""
    return _codes(raw, "KIS_ELW_SYMBOLS", _ELW_CODE, "6-character ELW codes like 58J297")


def _state_url(raw: str | None) -> str | None:
    """KIS_STATE_URL, checked now: a Redis URL (`redis://`, `rediss://` or `unix://`)."""
    if raw is None or not raw.strip():
        return None
    url = raw.strip()
    scheme, _, rest = url.partition("://")
    if scheme not in ("redis", "rediss", "unix") or not rest:
        shown = redact_url(url)
        raise KisConfigError(
            f"KIS_STATE_URL={shown!r} is not a Redis URL; use redis://host:6379/0 "
            "(or unset it to keep the rate limit and tokens in KIS_STATE_DIR)"
        )
    return url


def redact_url(url: str) -> str:
    """`url` with any password replaced by ***, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"


def _key_pairs(keys: str | None, secrets: str | None) -> list[tuple[str, str]]:
    """KIS_APP_KEYS and KIS_APP_SECRETS (comma-separated, in the same order) as pairs."""
    names = [k.strip() for k in (keys or "").split(",") if k.strip()]
    values = [v.strip() for v in (secrets or "").split(",") if v.strip()]
    if len(names) != len(values):
        raise KisConfigError(
            f"KIS_APP_KEYS names {len(names)} key(s) but KIS_APP_SECRETS {len(values)} "
            "secret(s); give one secret per key, comma-separated, in the same order"
        )
    if len(set(names)) != len(names):
        raise KisConfigError("KIS_APP_KEYS names a key twice; list each app key once")
    return list(zip(names, values, strict=True))
