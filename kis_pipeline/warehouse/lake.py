"""Where the lake is and how to open it: a DuckLake catalog plus a data path, from configuration.

- `KIS_CATALOG` (default `sqlite:$KIS_WAREHOUSE/catalog.sqlite`): the DuckLake catalog. A SQLite
  file lets several local processes write (in WAL mode, so a reader never blocks a writer);
  `postgres:<libpq connection string>` serves writers on many hosts.
- `KIS_WAREHOUSE`: a directory (data files under `lake/` in it) or `s3://bucket/prefix`, with
  the standard AWS variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
  `AWS_REGION`) and `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_S3`) for an S3-compatible server.

Every connection is an in-memory DuckDB with the lake attached as `lake` and in use, so SQL
names the tables plainly. Errors a person meets are turned into one line naming the setting.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import os
import random
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

from kis_pipeline.common.clock import KST
from kis_pipeline.common.files import file_lock
from kis_pipeline.warehouse.extensions import ExtensionMissing, load

ALIAS = "lake"
# The metadata database DuckLake attaches beside the lake, for reading the catalog directly.
METADATA = f"__ducklake_metadata_{ALIAS}"
CATALOG_FILE = "catalog.sqlite"
DATA_DIR = "lake"
# Lake sessions run in UTC: DuckLake keeps snapshot and file times as text in a SQLite catalog and
# compares them as text, so every writer and reader must render them alike (a KST session would
# see snapshots 9 hours off, and delete files scheduled minutes ago as if hours old). Readers
# show times in Korea's zone themselves (`kis-pipeline sql`, `Warehouse.read`).
TIME_ZONE = "UTC"
# How long a SQLite catalog waits for another process's commit before it reports a conflict.
SQLITE_BUSY_MS = 10_000


class LakeError(Exception):
    """The lake cannot be opened or used as configured; the message says what to change."""


@dataclass(frozen=True)
class S3:
    """Credentials and endpoint for an `s3://` data path (the standard AWS variables)."""

    key_id: str = ""
    secret: str = ""
    session_token: str = ""
    region: str = ""
    endpoint: str = ""  # host[:port] of an S3-compatible server, empty for AWS
    use_ssl: bool = True

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> S3:
        endpoint = environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL") or ""
        use_ssl = True
        if endpoint:
            parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
            use_ssl = parts.scheme != "http"
            endpoint = parts.netloc
        return cls(
            key_id=environ.get("AWS_ACCESS_KEY_ID", ""),
            secret=environ.get("AWS_SECRET_ACCESS_KEY", ""),
            session_token=environ.get("AWS_SESSION_TOKEN", ""),
            region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "",
            endpoint=endpoint,
            use_ssl=use_ssl,
        )

    def __repr__(self) -> str:  # never print the secret
        return f"S3(endpoint={self.endpoint!r}, region={self.region!r})"


@dataclass(frozen=True)
class LakeConfig:
    """A catalog (`sqlite:<file>`, `postgres:<dsn>`, `duckdb:<file>`) and a data path."""

    catalog: str
    data_path: str
    s3: S3 | None = None

    @classmethod
    def local(cls, root: Path) -> LakeConfig:
        """The default: a SQLite catalog and the data files, both inside `root`."""
        root = Path(root).absolute()
        return cls(f"sqlite:{root / CATALOG_FILE}", f"{root / DATA_DIR}/")

    @classmethod
    def from_settings(
        cls, root: Path, catalog: str | None, data_url: str | None, environ: Mapping[str, str]
    ) -> LakeConfig:
        """`root` is the local warehouse folder; `data_url` an `s3://` data path, if any."""
        local = cls.local(root)
        data_path = local.data_path
        s3 = None
        if data_url:
            data_path = data_url.rstrip("/") + "/"
            s3 = S3.from_environ(environ)
            if not catalog:
                raise LakeError(
                    f"KIS_WAREHOUSE={data_url} is on object storage, where a SQLite catalog "
                    "cannot live; set KIS_CATALOG=postgres:... (or sqlite:/a/local/file)"
                )
        return cls(normalize_catalog(catalog) if catalog else local.catalog, data_path, s3)

    @property
    def kind(self) -> str:
        return self.catalog.split(":", 1)[0]

    @property
    def local_data(self) -> Path | None:
        return None if "://" in self.data_path else Path(self.data_path)

    @property
    def catalog_file(self) -> Path | None:
        """The catalog's file, for the kinds that are one."""
        return Path(self.catalog.split(":", 1)[1]) if self.kind in ("sqlite", "duckdb") else None

    def describe(self) -> str:
        """The catalog and data path as a person may see them (no password)."""
        return f"catalog {redact(self.catalog)}, data {self.data_path}"


def normalize_catalog(text: str) -> str:
    """`postgres:`/`postgresql://...`/`sqlite:`/`duckdb:`/a path -> the form ATTACH takes."""
    text = text.strip()
    if text.startswith(("postgresql://", "postgres://")):
        return f"postgres:{text}"
    kind, sep, rest = text.partition(":")
    if sep and kind in ("postgres", "sqlite", "duckdb"):
        if kind != "postgres":
            return f"{kind}:{Path(rest).expanduser().absolute()}"
        return text
    if text.endswith((".sqlite", ".db")):
        return f"sqlite:{Path(text).expanduser().absolute()}"
    raise LakeError(
        f"KIS_CATALOG={redact(text)!r} is not a catalog; use sqlite:/path/catalog.sqlite or "
        "postgres:dbname=... host=... (or a postgresql:// URL)"
    )


_PASSWORD = re.compile(r"(password\s*=\s*)[^\s\"']+|(://[^:/@]+:)[^@]+(@)", re.IGNORECASE)


def redact(text: str) -> str:
    return _PASSWORD.sub(lambda m: (m.group(1) or m.group(2)) + "***" + (m.group(3) or ""), text)


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(
    config: LakeConfig,
    *,
    read_only: bool = False,
    snapshot: int | None = None,
    as_of: str | None = None,
    extension_dir: Path | None = None,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached as `lake` (optionally at a past snapshot)."""
    con = duckdb.connect()
    try:
        load(con, extensions_for(config), extension_dir)
        con.execute(f"SET TimeZone = {_q(TIME_ZONE)}")
        if config.s3 is not None:
            con.execute(secret_sql(config.s3))
        if not read_only and config.local_data is not None:
            _make_folder(config.local_data, "KIS_WAREHOUSE")
            if config.catalog_file is not None:
                _make_folder(config.catalog_file.parent, "KIS_CATALOG")
        if read_only and config.catalog_file is not None and not config.catalog_file.exists():
            raise LakeError(
                f"no warehouse at {config.catalog_file.parent} (no catalog "
                f"{config.catalog_file.name}): run `kis-pipeline backfill` or `make demo` first, "
                "or point KIS_WAREHOUSE (or KIS_CATALOG) at one"
            )
        if read_only:
            config = _readable(config)
        if as_of is not None:
            snapshot = snapshot_at(con, config, as_of)
        with _creating(config, read_only):
            _attach(con, attach_sql(config, read_only=read_only, snapshot=snapshot))
    except ExtensionMissing as exc:
        con.close()
        raise LakeError(str(exc)) from None
    except duckdb.Error as exc:
        con.close()
        raise LakeError(explain(exc, config)) from None
    except BaseException:
        con.close()
        raise
    return con


def check_store(config: LakeConfig) -> None:
    """For an `s3://` data path: list it once, so that an object store that does not answer or
    refuses the credentials is one `LakeError` before any work, not a failure of the first run
    that writes a file (small writes may go to the catalog alone and succeed meanwhile)."""
    if config.s3 is None:
        return
    con = duckdb.connect()
    try:
        load(con, extensions_for(config), None)
        con.execute(secret_sql(config.s3))
        con.execute("SELECT count(*) FROM glob(?)", [config.data_path.rstrip("/") + "/*"])
    except ExtensionMissing as exc:
        raise LakeError(str(exc)) from None
    except duckdb.Error as exc:
        raise LakeError(explain(exc, config)) from None
    finally:
        con.close()


def _readable(config: LakeConfig) -> LakeConfig:
    """`config`, or, when its SQLite catalog is on a read-only file system, a copy of it.

    SQLite opens a WAL-mode database only where it can create the `-shm` file beside it; on a
    read-only disk nothing can change the catalog, so a private copy reads the same lake."""
    path = config.catalog_file
    if config.kind != "sqlite" or path is None or os.access(path.parent, os.W_OK):
        return config
    folder = tempfile.mkdtemp(prefix="kis-catalog-")
    atexit.register(shutil.rmtree, folder, True)
    copy = Path(folder) / path.name
    for suffix in ("", "-wal"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            shutil.copyfile(source, copy.with_name(copy.name + suffix))
    return replace(config, catalog=f"sqlite:{copy}")


@contextlib.contextmanager
def _creating(config: LakeConfig, read_only: bool) -> Iterator[None]:
    """Hold a lock beside a local catalog file while attaching it: DuckLake creates a new
    catalog's tables one by one, and a second process attaching midway would find it half made.
    (Attaching is once per process; writes take no lock: the catalog's transactions order them.)
    """
    path = config.catalog_file
    if read_only or path is None:
        yield
        return
    with file_lock(path.with_name(f".{path.name}.create-lock")):
        yield


# Processes that open a new lake at once race to create its catalog; the losers wait and retry.
ATTACH_ATTEMPTS = 20


def _attach(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    for attempt in range(1, ATTACH_ATTEMPTS + 1):
        try:
            con.execute(sql)
            # Using it reads the catalog's newest snapshot: a catalog still being made, or busy
            # for a moment, fails here rather than in the first query.
            con.execute(f"USE {ALIAS}")
            return
        except duckdb.Error as exc:
            text = str(exc).lower()
            racing = any(
                words in text
                for words in (
                    "database is locked",
                    "already exists",
                    "unable to open database",
                    "ducklake_snapshot does not exist",
                )
            )
            if not racing or attempt == ATTACH_ATTEMPTS:
                raise
            with contextlib.suppress(duckdb.Error):
                con.execute(f"DETACH DATABASE IF EXISTS {ALIAS}")
            time.sleep(0.05 * attempt * random.uniform(0.5, 1.5))


def extensions_for(config: LakeConfig) -> tuple[str, ...]:
    backend = {"sqlite": ("sqlite_scanner",), "postgres": ("postgres_scanner",)}
    names = ("ducklake", *backend.get(config.kind, ()))
    return (*names, "httpfs") if config.s3 is not None else names


def snapshot_at(con: duckdb.DuckDBPyConnection, config: LakeConfig, moment: str) -> int:
    """The newest snapshot committed at or before `moment`.

    Found by DuckDB on typed times: DuckLake's own SNAPSHOT_TIME compares the catalog's time text
    on a SQLite catalog, which is wrong within a day (see maintenance.day_cutoff)."""
    con.execute(attach_sql(config, read_only=True))
    try:
        found = con.execute(
            f"SELECT max(snapshot_id) FROM ducklake_snapshots('{ALIAS}') "
            "WHERE snapshot_time <= ?::TIMESTAMPTZ",
            [utc_text(moment)],
        ).fetchone()
    finally:
        con.execute(f"DETACH {ALIAS}")
    if not found or found[0] is None:
        raise LakeError(f"the lake has no snapshot at or before {moment} (its first is later)")
    return int(found[0])


def attach_sql(config: LakeConfig, *, read_only: bool = False, snapshot: int | None = None) -> str:
    options = [f"DATA_PATH {_q(config.data_path)}"]
    if config.kind == "sqlite":
        # WAL: readers never block a writer; the busy timeout queues writers instead of failing.
        options.append(
            f"METADATA_PARAMETERS MAP {{'busy_timeout': '{SQLITE_BUSY_MS}', 'journal_mode': 'wal'}}"
        )
    if config.kind in ("sqlite", "duckdb"):
        # A local warehouse folder can be moved or copied whole: its files are found relative
        # to where it is now, not where it was made.
        options.append("OVERRIDE_DATA_PATH true")
    if read_only:
        options.append("READ_ONLY")
    if snapshot is not None:
        options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
    return f"ATTACH {_q('ducklake:' + config.catalog)} AS {ALIAS} ({', '.join(options)})"


def utc_text(moment: str) -> str:
    """A time as DuckLake compares it: UTC; one without a zone is Korea's."""
    try:
        parsed = dt.datetime.fromisoformat(moment.strip())
    except ValueError:
        raise LakeError(
            f"--as-of {moment!r} is not a time; use e.g. 2026-11-20 or '2026-11-20 18:00:00+09'"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=KST)
    return parsed.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")


def secret_sql(s3: S3) -> str:
    fields = {
        "TYPE": "s3",
        "KEY_ID": s3.key_id,
        "SECRET": s3.secret,
        "SESSION_TOKEN": s3.session_token,
        "REGION": s3.region,
        "ENDPOINT": s3.endpoint,
    }
    parts = [f"{k} {_q(v) if k != 'TYPE' else v}" for k, v in fields.items() if v]
    if s3.endpoint:
        # S3-compatible servers (MinIO, moto, Ceph) answer on paths, not on bucket host names.
        parts += ["URL_STYLE 'path'", f"USE_SSL {'true' if s3.use_ssl else 'false'}"]
    return f"CREATE OR REPLACE SECRET kis_s3 ({', '.join(parts)})"


def _make_folder(path: Path, setting: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LakeError(
            f"cannot create {path}: {exc.strerror or exc}; point {setting} at a writable folder"
        ) from None


_QUOTED = re.compile(r'"([^"]+\.parquet)"')
_VERSIONS = re.compile(r"catalog version is ([\d.]+), but the extension requires version ([\d.]+)")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def explain(exc: BaseException, config: LakeConfig) -> str:
    """One line for a failure to open or use the lake, naming what to change (no password)."""
    return redact(_explain(exc, config))


def _explain(exc: BaseException, config: LakeConfig) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    lowered = text.lower()
    where = redact(config.catalog)
    versions = _VERSIONS.search(text)
    if versions:
        found, wanted = versions.group(1), versions.group(2)
        if _version(found) > _version(wanted):
            return (
                f"the catalog {where} was written by a newer DuckLake (format {found}) than "
                f"this kis-pipeline reads ({wanted}); upgrade kis-pipeline to open it"
            )
        return (
            f"the catalog {where} is of an older DuckLake format ({found}, this kis-pipeline "
            f"reads {wanted}); back it up, then open it once with DuckDB's ATTACH option "
            "AUTOMATIC_MIGRATION TRUE"
        )
    if config.s3 is not None and "http" in lowered and "could not connect" in lowered:
        # DuckDB's S3 client: the object store, not the catalog, is what did not answer.
        server = config.s3.endpoint or "AWS S3"
        return (
            f"cannot reach the object store {server} for {config.data_path}: {first}; check "
            "AWS_ENDPOINT_URL and that the server is running"
        )
    if config.kind == "postgres" and (
        "connection" in lowered or "could not" in lowered or "password" in lowered
    ):
        return (
            f"cannot reach the catalog {where}: {first}; check KIS_CATALOG and that the "
            "PostgreSQL server is running"
        )
    if config.s3 is not None and (
        "403" in text or "access denied" in lowered or "invalidaccesskeyid" in lowered
    ):
        return (
            f"the object store refused the credentials for {config.data_path}: {first}; check "
            "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_ENDPOINT_URL"
        )
    if "no such file or directory" in lowered and config.local_data is not None:
        missing = _QUOTED.search(first)
        return (
            f"a data file of the lake is missing: {missing.group(1) if missing else first}; "
            f"its files were moved or deleted: point KIS_WAREHOUSE at the folder that holds "
            "them, or restore it"
        )
    if "disk i/o error" in lowered or "database or disk is full" in lowered:
        return (
            f"cannot write the catalog {where}: {first} (is its disk full?); free some space "
            "there and run the command again"
        )
    if "no space left" in lowered:
        return f"no space left on the disk of {config.data_path}: {first}; free some space there"
    if "permission denied" in lowered or "read-only file system" in lowered:
        return f"cannot write {config.data_path}: {first}; point KIS_WAREHOUSE at a writable folder"
    return f"warehouse ({config.describe()}): {first}"
