"""Dagster's SQLite event log, with open connections and one transaction per batch of events.

A backfill run over a range records one "planned" and one "materialized" event per asset and
partition: a year of weekdays for ten assets is thousands of events. Dagster's SQLite storage
opens a connection for each write, to the run's database and again to the cross-run index,
commits with a sync to disk and closes it, which checkpoints the write-ahead log with two more
syncs. On a busy disk a sync takes milliseconds, and these writes were most of a backfill's time
(bench/README.md, "Backfill overhead"). This storage:

- keeps one connection per database open, in WAL mode with `synchronous=NORMAL`: a commit no
  longer waits for the disk, and the database stays consistent after a crash (a power cut may
  lose the last commits, not corrupt the file);
- writes `store_event_batch` (a step's partitions, a run's planned events; Dagster sends them
  when `DAGSTER_EVENT_BATCH_SIZE` is set) in one transaction per database, where Dagster's
  SQLite storage stores them one by one;
- creates a new run's database as a copy of the first one it created (Dagster reads its whole
  history of schema migrations for each), and remembers which tables exist;
- checkpoints a run's database at most every `CHECKPOINT_INTERVAL_S` while the run writes and
  closes it when the run ends, because the UI's live run view (another process) watches the
  run's database file, which a write to the log alone leaves unchanged.

Files, tables and rows are those of `SqliteEventLogStorage`: the UI, other processes and
`get_materialized_partitions` read them as before.
"""

from __future__ import annotations

import tempfile
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as db
from dagster._core.events import (
    ASSET_CHECK_EVENTS,
    ASSET_EVENTS,
    DagsterEventType,
)
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.schema import (
    AssetCheckExecutionsTable,
    SqlEventLogStorageTable,
)
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData, serialize_value
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

BATCH_SIZE_ENV = "DAGSTER_EVENT_BATCH_SIZE"
# Large enough for one step's partitions over years of weekdays, in one transaction.
BATCH_SIZE = 10_000
CHECKPOINT_INTERVAL_S = 1.0
# Run databases kept open besides the index: the runs a command has in flight.
OPEN_RUNS = 4
RUN_ENDS = frozenset(
    {
        DagsterEventType.RUN_SUCCESS,
        DagsterEventType.RUN_FAILURE,
        DagsterEventType.RUN_CANCELED,
    }
)


class FastSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` over open connections, writing batches in one transaction."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        # Set first: the parent's constructor already connects. Every use of a connection is
        # under the parent's `_db_lock`, one thread at a time.
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._checkpointed: dict[str, float] = {}
        self._new_run_schema: bytes | None = None
        self._tables: set[str] = set()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, str]
    ) -> FastSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn
                if shard != INDEX_SHARD_NAME:
                    self._checkpoint_now_and_then(shard, conn)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = db.create_engine(
            self.conn_string_for_shard(shard),
            poolclass=StaticPool,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        db.event.listen(engine, "connect", _relaxed_sync)
        if shard not in self._initialized_dbs:
            self._create(shard, engine)
            self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        runs = [name for name in self._engines if name != INDEX_SHARD_NAME]
        for name in runs[: max(len(runs) - OPEN_RUNS, 0)]:
            self._dispose_engine(name)
        return engine

    def _create(self, shard: str, engine: Engine) -> None:
        """Create the shard's tables if it has none. A new run's database starts as a copy of
        the first one this storage created: Dagster's own way reads every schema migration
        script of its history for each run."""
        path = Path(self.path_for_shard(shard))
        if shard != INDEX_SHARD_NAME and not path.exists() and self._new_run_schema is not None:
            path.write_bytes(self._new_run_schema)
            return
        fresh = shard != INDEX_SHARD_NAME and not path.exists()
        self._initdb(engine)
        if fresh:
            with tempfile.TemporaryDirectory() as scratch:
                copy = Path(scratch) / "schema.db"
                with engine.connect() as conn:
                    conn.exec_driver_sql(f"VACUUM INTO '{copy}'")
                self._new_run_schema = copy.read_bytes()

    def has_table(self, table_name: str) -> bool:
        # Asked before every asset check event; a table, once there, stays.
        if table_name not in self._tables:
            if not super().has_table(table_name):
                return False
            self._tables.add(table_name)
        return True

    def _checkpoint_now_and_then(self, shard: str, conn: Connection) -> None:
        now = time.monotonic()
        if now - self._checkpointed.get(shard, 0.0) >= CHECKPOINT_INTERVAL_S:
            conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
            self._checkpointed[shard] = now

    def _dispose_engine(self, shard: str) -> None:
        engine = self._engines.pop(shard, None)
        self._checkpointed.pop(shard, None)
        if engine is not None:
            # Closing the last connection checkpoints the log into the database file.
            engine.dispose()

    def close_run(self, run_id: str) -> None:
        with self._db_lock:
            self._dispose_engine(run_id)

    def store_event(self, event: EventLogEntry) -> None:
        super().store_event(event)
        if event.is_dagster_event and event.dagster_event_type in RUN_ENDS:
            self.close_run(event.run_id)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        # Dagster batches asset events (materialized, observed, planned, failed) and planned
        # checks of one run; the rows are those `SqliteEventLogStorage.store_event` writes for
        # each, each event serialized once for both databases.
        runs = {event.run_id for event in events}
        if len(runs) != 1:
            super().store_event_batch(events)
            return
        rows = [self._event_to_row(event) for event in events]
        with self.run_connection(runs.pop()) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        mirrored = [
            i
            for i, e in enumerate(events)
            if e.is_dagster_event and e.dagster_event_type in ASSET_EVENTS
        ]
        checks = [
            i
            for i, e in enumerate(events)
            if e.is_dagster_event and e.dagster_event_type in ASSET_CHECK_EVENTS
        ]
        if not mirrored and not checks:
            return
        with self.index_transaction() as conn:
            inserted = conn.execute(
                SqlEventLogStorageTable.insert().returning(
                    SqlEventLogStorageTable.c.id, sort_by_parameter_order=True
                ),
                [rows[i] for i in mirrored + checks],
            )
            ids = dict(zip(mirrored + checks, inserted.scalars(), strict=True))
            if mirrored:
                assets = [events[i] for i in mirrored]
                self._store_asset_event_tags(conn, assets, [ids[i] for i in mirrored])
                for i in _last_of_each_kind(events, mirrored):
                    self._store_asset_event(conn, events[i], ids[i])
        for i in checks:
            self.store_asset_check_event(events[i], ids[i])

    def _store_asset_check_evaluation_planned(
        self, event: EventLogEntry, event_id: int | None
    ) -> None:
        # Dagster's version writes a row per partition of the run with the event serialized
        # again for each (the same text, a year of days over): serialized once here.
        planned = event.get_dagster_event().asset_check_planned_data
        keys = (
            planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
        )
        row = {
            "asset_key": planned.asset_key.to_string(),
            "check_name": planned.check_name,
            "run_id": event.run_id,
            "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
            "evaluation_event": serialize_value(event),
            "evaluation_event_timestamp": self._event_insert_timestamp(event),
            "evaluation_event_storage_id": event_id,
        }
        with self.index_connection() as conn:
            conn.execute(
                AssetCheckExecutionsTable.insert(), [{**row, "partition": k} for k in keys]
            )

    def wipe(self) -> None:
        self._dispose_all()
        super().wipe()

    def dispose(self) -> None:
        self._dispose_all()
        super().dispose()

    def _dispose_all(self) -> None:
        with self._db_lock:
            for shard in list(self._engines):
                self._dispose_engine(shard)


def _last_of_each_kind(events: Sequence[EventLogEntry], positions: list[int]) -> list[int]:
    """The positions of the last event of each (asset, event type), in order.

    Each event overwrites the columns its type sets in the asset's row (last materialization,
    last run, last event time), so applying only these gives the row all of them would.
    """
    last: dict[tuple[object, object], int] = {}
    for i in positions:
        event = events[i].get_dagster_event()
        last[(event.asset_key, event.event_type)] = i
    return sorted(last.values())


def _relaxed_sync(dbapi_connection: Any, _record: Any) -> None:
    # WAL before anything else, so that creating a new run's tables is not synced statement by
    # statement either (Dagster switches a new database to WAL only after creating them).
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
