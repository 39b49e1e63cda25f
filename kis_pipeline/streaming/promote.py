"""Persistence: one sealed spool segment -> typed tick frames -> warehouse pieces.

`promote_segment` reads the segment, parses all its frames in bulk (`kis.ws.parse_segment`:
grouped by TR, multi-record frames split, older and longer layouts accepted), casts them to the
tick tables of `tables.py` with polars, and writes each (table, date) as the piece
`part=<segment id>`, which replaces that segment's earlier piece if there was one: all of the
segment's tables in one lake transaction. Then it records the segment's session events
(session_ledger.py) and moves the segment to done/.

`promote_batch` does the same for several segments (one Dagster run per batch): each keeps its
own `part=<segment id>` pieces, all written in ONE lake transaction (one catalog commit per
batch), and only then do the segments move to done/.

Idempotent and crash-safe: the transaction replaces each segment's own pieces (keyed by segment
id) or nothing, and a segment leaves sealed/ only after it committed, so a run killed anywhere
is simply run again, and a rerun of a done segment rewrites the same rows. Nothing is
dropped silently: a frame that does not parse, a partial record left after a frame's whole
records (its count field was wrong), or a record that breaks its table's rules goes to
`stream_rejects` with the reason and the raw frame, and is counted in the result. A record is
rejected when
- a value is not of its column's type, or a required column is blank;
- its time is blank or not HHMMSS: it is never given `received_at` instead, so every `ts` of a
  timed table is the exchange's own (market status sends no time: its `ts` is `received_at`);
- its business date (BSOP_DATE) is blank, not a date, or not the segment's session date (the
  date most of its records carry; the header's breaks a tie), so it is never filed under
  another day;
- a price that must be positive is not (trade price), or a price or volume is negative (0 on
  the order book means no quote).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from kis_pipeline.common.clock import KST_NAME as KST
from kis_pipeline.kis.ws import FRAME_INDEX, BulkResult, parse_segment
from kis_pipeline.kis.ws.columns import COLUMNS, venue_of_tr
from kis_pipeline.streaming import session_ledger as sessions
from kis_pipeline.streaming.refills import Refused, refill_rows
from kis_pipeline.streaming.replay import replay
from kis_pipeline.streaming.spool import CONTROL, SegmentRecords, Spool, read_segment
from kis_pipeline.streaming.tables import (
    STREAM_REJECTS,
    TABLE_BY_TR,
    TRADE_TICKS,
    TickTable,
    from_us,
)
from kis_pipeline.warehouse import Batch, Warehouse

log = logging.getLogger(__name__)

_BLANKS = ("", "(null)")
_THREADS = 2  # parse work runs in polars, which releases the GIL
WEBSOCKET = "websocket"  # trade_ticks.source of the rows from frames (refills.py: 'rest')


@dataclass
class PromoteResult:
    segment_id: str
    frames: int = 0
    records: int = 0  # rows written to the tick tables
    rows: Counter[str] = field(default_factory=Counter)
    rejects: int = 0
    partitions: list[str] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    first_received_ns: int | None = None
    last_received_ns: int | None = None
    moved: bool = False
    seconds: float = 0.0
    snapshot: int | None = None  # the lake snapshot that holds the segment's rows

    def summary(self) -> str:
        tables = ", ".join(f"{k}={v}" for k, v in sorted(self.rows.items())) or "no rows"
        return (
            f"{self.segment_id}: {self.frames} frames -> {tables}; rejects={self.rejects} "
            f"({self.seconds:.2f} s)"
        )


class SegmentMissing(FileNotFoundError):
    pass


Parsed = tuple[PromoteResult, SegmentRecords, dict[str, pl.DataFrame]]  # and its tables


def promote_segment(
    warehouse: Warehouse, spool: Spool, segment_id: str, *, move: bool = True
) -> PromoteResult:
    """Persist one sealed (or, for a rerun, done) segment; see the module docstring."""
    started = time.perf_counter()
    batch = Batch()
    result, records, tables = _parsed(spool, segment_id)
    _add(batch, result, tables)
    result.snapshot = max((r.snapshot or 0 for r in warehouse.commit(batch)), default=None)
    result.sessions, result.gaps = sessions.record_segment(
        warehouse, spool, segment_id, replay(records), _gap_events(records)
    )
    if move:
        result.moved = spool.mark_done(segment_id)
    result.seconds = time.perf_counter() - started
    log.info("%s", result.summary())
    return result


def _parsed(spool: Spool, segment_id: str) -> Parsed:
    """Read and parse one segment."""
    path = spool.find(segment_id)
    if path is None:
        raise SegmentMissing(f"segment {segment_id} is not in {spool.sealed_dir} nor in done/")
    records = read_segment(path)
    result = PromoteResult(segment_id)
    return result, records, parse_records_to_tables(records, segment_id, result)


def _add(batch: Batch, result: PromoteResult, tables: dict[str, pl.DataFrame]) -> None:
    """Add a parsed segment's pieces to `batch`."""
    for name, frame in tables.items():
        days = frame.get_column("date")  # one date (nearly always) needs no partition_by copy
        split = days.n_unique() > 1
        parts = frame.partition_by("date", as_dict=True) if split else {(days[0],): frame}
        pieces = {str(day): piece for (day,), piece in parts.items()}  # str(date): YYYY-MM-DD
        batch.add(name, pieces, part=result.segment_id)
        result.partitions += [f"{name}/{partition}" for partition in pieces]


@dataclass
class BatchResult:
    results: list[PromoteResult] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # segment id -> error

    def summary(self) -> str:
        records = sum(r.records for r in self.results)
        failed = f"; failed: {', '.join(self.failures)}" if self.failures else ""
        return f"{len(self.results)} segment(s) persisted, {records} tick rows{failed}"


def promote_batch(warehouse: Warehouse, spool: Spool, segment_ids: Sequence[str]) -> BatchResult:
    """Persist `segment_ids` in one lake transaction; a segment that cannot be read is recorded
    and the others still land."""
    started = time.perf_counter()
    outcome = BatchResult()
    writes = Batch()
    prepared = []
    # Two segments are read and parsed at once: nearly all of it runs in polars, which
    # releases the GIL, so the second core works too.
    with ThreadPoolExecutor(_THREADS) as pool:
        futures = [pool.submit(_parsed, spool, segment_id) for segment_id in segment_ids]
        for segment_id, future in zip(segment_ids, futures, strict=True):
            try:
                result, records, tables = future.result()
                _add(writes, result, tables)
                prepared.append((result, records))
            except Exception as exc:
                log.exception("could not persist segment %s", segment_id)
                outcome.failures[segment_id] = f"{type(exc).__name__}: {exc}"
    if not prepared:
        return outcome
    try:
        committed = warehouse.commit(writes)
    except Exception as exc:
        log.exception("could not persist segments %s", ", ".join(r.segment_id for r, _ in prepared))
        for result, _ in prepared:
            outcome.failures[result.segment_id] = f"{type(exc).__name__}: {exc}"
        return outcome
    snapshot = max((r.snapshot or 0 for r in committed), default=None)
    touched = sessions.record_segments(
        warehouse,
        spool,
        [(r.segment_id, replay(records), _gap_events(records)) for r, records in prepared],
    )
    for result, _ in prepared:
        result.snapshot = snapshot
        result.sessions, result.gaps = touched[result.segment_id]
        result.moved = spool.mark_done(result.segment_id)
        result.seconds = time.perf_counter() - started
        outcome.results.append(result)
    return outcome


def parse_records_to_tables(
    records: SegmentRecords, segment_id: str, result: PromoteResult | None = None
) -> dict[str, pl.DataFrame]:
    """Typed frames per table (tick tables and stream_rejects) for one segment's records."""
    result = result or PromoteResult(segment_id)
    positions = [i for i, kind in enumerate(records.kinds) if kind != CONTROL]
    texts = [records.payloads[i].decode("utf-8", "replace") for i in positions]
    seqs = [records.seqs[i] for i in positions]
    stamps = [records.received_ns[i] for i in positions]
    result.frames = len(texts)
    if stamps:
        result.first_received_ns, result.last_received_ns = min(stamps), max(stamps)
    with ThreadPoolExecutor(_THREADS) as pool:  # a segment's TRs are parsed side by side
        parsed = parse_segment(texts, pool=pool)
        session_date = _session_date(parsed.tables, records.header().get("session_date"))
        seq_series = pl.Series("seq", seqs, dtype=pl.Int64)
        ns_series = pl.Series("ns", stamps, dtype=pl.Int64)
        typed = {
            tr_id: pool.submit(
                _typed, table, tr_id, bulk, segment_id, seq_series, ns_series, session_date
            )
            for tr_id, bulk in parsed.tables.items()
            if (table := TABLE_BY_TR.get(tr_id)) is not None and not bulk.frame.is_empty()
        }
    rejects = _Rejects(segment_id, texts, seqs, stamps)
    for pos, reason in parsed.errors:
        rejects.frame(pos, reason)
    for pos in parsed.control:
        rejects.frame(pos, "a JSON message the collector did not recognise")
    pieces: dict[str, list[pl.DataFrame]] = {}
    for tr_id, bulk in parsed.tables.items():
        for pos, reason in bulk.errors:
            rejects.frame(pos, reason)
        for pos, record, reason in bulk.partials:
            rejects.record(pos, record, reason)
        if bulk.frame.is_empty():
            continue
        table = TABLE_BY_TR.get(tr_id)
        if table is None:
            for pos in bulk.frame[FRAME_INDEX].unique(maintain_order=True).to_list():
                rejects.frame(pos, f"no warehouse table for {tr_id}")
            continue
        rows, bad = typed[tr_id].result()
        for pos, record, reason in bad:
            rejects.record(pos, record, reason)
        if rows.height:
            pieces.setdefault(table.name, []).append(rows)
    refilled, refused = refill_rows(records, segment_id, session_date)
    for row in refused:
        rejects.other(row)
    if refilled.height:
        pieces.setdefault(TRADE_TICKS.name, []).append(refilled)
    out: dict[str, pl.DataFrame] = {}
    for name, parts in pieces.items():
        frame = parts[0] if len(parts) == 1 else pl.concat(parts)
        out[name] = frame
        result.rows[name] += frame.height
        result.records += frame.height
    reject_frame = rejects.frame_(session_date)
    if reject_frame.height:
        out[STREAM_REJECTS.name] = reject_frame
        result.rejects = reject_frame.height
    return out


def _session_date(tables: dict[str, BulkResult], header_date: str | None) -> dt.date | None:
    """The trading date of the segment: the business date most of its records carry, else
    the header's (which the writer learnt from the run's first trade and which wins a tie)."""
    dates: Counter[dt.date] = Counter()
    for tr_id, bulk in tables.items():
        table = TABLE_BY_TR.get(tr_id)
        if table is None or table.date_field is None or bulk.frame.is_empty():
            continue
        days = bulk.frame.select(_day(pl.col(table.date_field))).to_series().value_counts()
        for value, n in days.drop_nulls().iter_rows():
            dates[value] += n
    header = pl.select(_day(pl.lit(header_date, pl.String))).item() if header_date else None
    if not dates:
        return header
    ((best, top),) = dates.most_common(1)
    return header if dates.get(header) == top else best


def _day(expr: pl.Expr) -> pl.Expr:
    """A YYYYMMDD text as a date; null when blank, signed (polars reads a year BCE) or unreal."""
    text = _clean(expr)
    return pl.when(text.str.contains(r"^\d{8}$")).then(text.str.to_date("%Y%m%d", strict=False))


def _clean(expr: pl.Expr) -> pl.Expr:
    """Text with padding removed; blank and KIS's "(null)" become null."""
    value = expr.str.strip_chars()
    return pl.when(value.is_in(_BLANKS)).then(None).otherwise(value)


def _cast(expr: pl.Expr, kind: str) -> pl.Expr:
    if kind == "int":
        return expr.cast(pl.Int64, strict=False)
    if kind == "float":
        return expr.cast(pl.Float64, strict=False)
    if kind == "yn":
        upper = expr.str.to_uppercase()
        return pl.when(upper == "Y").then(True).when(upper == "N").then(False).otherwise(None)
    if kind == "ymd":
        return _clean(expr).str.strptime(pl.Date, "%Y%m%d", strict=False)
    if kind == "excd":
        return _clean(expr).str.slice(1, 3)
    return _clean(expr)


Check = tuple[pl.Expr, pl.Expr]  # (the record breaks a rule, the reason text)
Source = tuple[str, str, str]  # (column, source field, kind)


def _flags(sources: list[Source], required: Sequence[str], padded: bool = False) -> list[Check]:
    """Checks for source fields whose value is not of their type (reason: the field) and then
    for required columns that are null (reason: the column). `padded`: blanks may be padded."""

    def blank(source: str) -> pl.Expr:
        return (pl.col(source).str.strip_chars() if padded else pl.col(source)).is_in(_BLANKS)

    return [
        (pl.col(column).is_null() & pl.col(source).is_not_null() & ~blank(source), pl.lit(source))
        for column, source, kind in sources
        if kind != "str"
    ] + [(pl.col(c).is_null(), pl.lit(c)) for c in required]


def _joined(checks: list[Check], separator: str = ",") -> pl.Expr:
    if not checks:
        return pl.lit(None, pl.String)
    parts = [pl.when(broken).then(reason) for broken, reason in checks]
    text = pl.concat_str(parts, separator=separator, ignore_nulls=True)
    return pl.when(text == "").then(None).otherwise(text)


def _typed(
    table: TickTable,
    tr_id: str,
    bulk: BulkResult,
    segment_id: str,
    seqs: pl.Series,
    stamps: pl.Series,
    session_date: dt.date | None,
) -> tuple[pl.DataFrame, list[tuple[int, int, str]]]:
    """Cast one TR's string records to `table`; returns (rows, rejected records)."""
    available = set(COLUMNS[tr_id])
    schema = table.spec.schema
    index = bulk.frame.get_column(FRAME_INDEX)
    found = {
        column: next(((column, s, k) for s, k in candidates if s in available), None)
        for column, candidates in table.fields.items()
    }
    sources = [source for source in found.values() if source is not None]
    missing_columns = [pl.lit(None, schema[c]).alias(c) for c, s in found.items() if s is None]
    own_day = pl.lit(None, pl.Date) if table.date_field is None else _day(pl.col(table.date_field))
    read = {source for _, source, _ in sources} | {table.date_field, table.time_field} - {None}
    frame = bulk.frame.select(
        FRAME_INDEX,
        *sorted(read),  # the fields the table does not read are left behind here
        seqs.gather(index).alias("seq"),
        from_us(stamps.gather(index) // 1000).alias("received_at"),
        pl.int_range(pl.len(), dtype=pl.Int32).over(FRAME_INDEX).alias("record"),
        own_day.alias("_own_day"),
    )
    day = pl.coalesce("_own_day", pl.lit(session_date, pl.Date), pl.col("received_at").dt.date())
    frame = frame.with_columns(day.alias("date"))
    ts = pl.col("received_at")
    if table.time_field is not None:
        # A time that does not parse stays null and rejects the record (`_problems`): putting
        # received_at in its place would make an invented time look like the exchange's.
        day_time = [pl.col("date").dt.strftime("%Y%m%d"), _clean(pl.col(table.time_field))]
        ts = pl.concat_str(day_time).str.strptime(pl.Datetime("us"), "%Y%m%d%H%M%S", strict=False)
        ts = ts.dt.replace_time_zone(KST, ambiguous="earliest", non_existent="null")
    # Numbers are cast as they come (KIS sends them unpadded); only the records where that
    # fails are tried again with padding stripped, so the common case pays for one cast.
    frame = frame.with_columns(
        ts.alias("ts"),
        *missing_columns,
        *(_cast(pl.col(source), kind).alias(column) for column, source, kind in sources),
    )
    good, rejected = _screened(frame, table, tr_id, sources, session_date)
    made = {"source": pl.lit(WEBSOCKET), "tr_id": pl.lit(tr_id), "segment_id": pl.lit(segment_id)}
    venue = venue_of_tr(tr_id)
    if venue is not None:  # else the table's fields say it (an overseas feed's exchange)
        made["venue"] = pl.lit(venue)
    return good.select(made.get(c, pl.col(c)).cast(t).alias(c) for c, t in schema.items()), rejected


def _screened(
    frame: pl.DataFrame,
    table: TickTable,
    tr_id: str,
    sources: list[Source],
    session_date: dt.date | None,
) -> tuple[pl.DataFrame, list[tuple[int, int, str]]]:
    """(records that keep every rule, rejected ones). Only suspects (nearly none: records that
    break a check before padding is stripped) are given reasons; a column without nulls holds no
    bad or missing value. Good ones come first, then those good after the padded retry."""

    def flag(rows: pl.DataFrame, padded: bool) -> pl.DataFrame:  # `_bad`, `_missing`: joined
        checks = _flags(sources, table.required, padded)
        n = len(checks) - len(table.required)
        return rows.with_columns(_bad=_joined(checks[:n]), _missing=_joined(checks[n:]))

    nulls = frame.null_count().row(0, named=True)
    flags = _flags([s for s in sources if nulls[s[0]]], [c for c in table.required if nulls[c]])
    checks = [broken for broken, _ in flags + _checks(table, session_date)]
    suspect = pl.any_horizontal(checks).fill_null(False) if checks else pl.lit(False)
    frame = frame.with_columns(suspect.alias("_suspect"))
    failed = flag(frame.filter("_suspect"), False)
    if not failed.height:
        return frame, []
    broken = pl.col("_bad").is_not_null() | pl.col("_missing").is_not_null()
    retried = failed.filter(broken).with_columns(
        _cast(_clean(pl.col(source)), kind).alias(column)
        for column, source, kind in sources
        if kind != "str"
    )
    failed = pl.concat([failed.filter(~broken), flag(retried, True)])
    failed = failed.with_columns(_problems(table, session_date).alias("_reason"))
    broken = pl.col("_reason").is_not_null()
    rejected = [
        (pos, record, f"{tr_id} record {record}: {reason}")
        for pos, record, reason in failed.filter(broken)
        .select(FRAME_INDEX, "record", "_reason")
        .iter_rows()
    ]
    passed = failed.filter(~broken).select(frame.columns)
    return pl.concat([frame.filter(~pl.col("_suspect")), passed]), rejected


def _quoted(column: str) -> pl.Expr:
    return pl.concat_str(pl.lit("'"), pl.col(column).fill_null(""), pl.lit("'"))


def _checks(table: TickTable, session_date: dt.date | None) -> list[Check]:
    """The rules on a typed record's date, time and values."""
    checks: list[Check] = []
    dated = pl.lit(True)
    if table.date_field is not None:
        own, field_ = pl.col("_own_day"), _quoted(table.date_field)
        dated = own.is_not_null()
        checks.append((~dated, pl.format("business date {} is not YYYYMMDD", field_)))
        if session_date is not None and not table.own_calendar:
            # Filed under its own date it would land in another day's partition.
            session = pl.lit(session_date.isoformat())
            reason = pl.format("business date {} is not the session date {}", field_, session)
            checks.append((own != session_date, reason))
    if table.time_field is not None:
        reason = pl.format("time {} is not HHMMSS", _quoted(table.time_field))
        checks.append((dated & pl.col("ts").is_null(), reason))
    limits = [(c, pl.col(c) <= 0, "is not positive") for c in table.positive]
    limits += [(c, pl.col(c) < 0, "is negative") for c in table.non_negative]
    return checks + [
        (broken, pl.format(f"{c} {{}} {text}", pl.col(c))) for c, broken, text in limits
    ]


def _problems(table: TickTable, session_date: dt.date | None) -> pl.Expr:
    """Why a typed record cannot be a row, "; "-joined, or null when it can."""
    flagged = [
        (pl.col("_bad").is_not_null(), pl.format("not a value of its type: {}", pl.col("_bad"))),
        (pl.col("_missing").is_not_null(), pl.format("missing: {}", pl.col("_missing"))),
    ]
    return _joined(flagged + _checks(table, session_date), "; ")


@dataclass
class _Rejects:
    """Collects rejected frames and records of one segment into `stream_rejects` rows."""

    segment_id: str
    texts: Sequence[str]
    seqs: Sequence[int]
    stamps: Sequence[int]
    rows: list[Refused] = field(default_factory=list)

    def frame(self, pos: int, reason: str) -> None:
        self.record(pos, None, reason)

    def record(self, pos: int, record: int | None, reason: str) -> None:
        text = self.texts[pos]
        parts = text.split("|", 3)
        tr_id = parts[1] if len(parts) >= 3 and text[:1] in "01" else None
        self.rows.append((self.stamps[pos], self.seqs[pos], record, tr_id, reason, text))

    def other(self, row: Refused) -> None:
        """A record that did not come in a frame (a REST refill)."""
        self.rows.append(row)

    def frame_(self, session_date: dt.date | None) -> pl.DataFrame:
        frame = pl.DataFrame(
            self.rows,
            schema={
                "received_ns": pl.Int64,
                "seq": pl.Int64,
                "record": pl.Int32,
                "tr_id": pl.String,
                "reason": pl.String,
                "raw": pl.String,
            },
            orient="row",
        )
        received = from_us(pl.col("received_ns") // 1000)
        day = pl.lit(session_date, pl.Date) if session_date else received.dt.date()
        frame = frame.with_columns(
            received.alias("received_at"),
            day.alias("date"),
            pl.lit(self.segment_id).alias("segment_id"),
        )
        return frame.select(list(STREAM_REJECTS.schema))


def _gap_events(records: SegmentRecords) -> list[dict[str, Any]]:
    return [body for _, body in records.controls() if body.get("type") in sessions.GAP_EVENTS]
