"""`trade_ticks` rows from the spool's `rest_fill` records: trades lost in a hole of the stream
and refilled from REST's last 30 executions (gaps.py).

Each becomes a row with `source = 'rest'` and `tr_id` FHKST01010300, `ts` its session date and
HHMMSS time, `received_at` the moment the refill was spooled, and (`segment_id`, `seq` of the
refill record, `record` its place in it) as key. REST says only time, price, change, volume and
strength, so the other columns are null. A row with a time that is not HHMMSS, a price that is
not positive, a negative volume or another day than the segment's session is refused into
`stream_rejects` with the row as sent.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import polars as pl

from kis_pipeline.common.clock import KST_NAME
from kis_pipeline.streaming.gaps import REST_TR_ID
from kis_pipeline.streaming.spool import SegmentRecords
from kis_pipeline.streaming.tables import TRADE_TICKS, from_us

REST = "rest"
# Refill fields that are trade_ticks columns of the same name.
COLUMNS = ("price", "volume", "change", "change_sign", "change_rate", "trade_strength")
# A refused row as stream_rejects takes it: (received_ns, seq, record, tr_id, reason, raw).
Refused = tuple[int, int, int | None, str | None, str, str]


def refill_rows(
    records: SegmentRecords, segment_id: str, session_date: dt.date | None
) -> tuple[pl.DataFrame, list[Refused]]:
    """The segment's refilled trades as `trade_ticks` rows, and the rows refused."""
    rows: list[dict[str, Any]] = []
    refused: list[Refused] = []
    for position, body in records.controls():
        if body.get("type") != "rest_fill":
            continue
        seq, received_ns = records.seqs[position], records.received_ns[position]
        day = _day(str(body.get("day") or ""))
        for index, row in enumerate(body.get("rows") or []):
            reason = _problem(row, day, session_date)
            if reason is not None:
                raw = json.dumps(row, ensure_ascii=False)
                refused.append((received_ns, seq, index, REST_TR_ID, f"refill: {reason}", raw))
                continue
            rows.append(
                {
                    **{k: row.get(k) for k in COLUMNS},
                    "date": day,
                    "clock": str(row["time"]),
                    "symbol": body.get("symbol"),
                    # Refills spooled before venues were recorded were all KRX's.
                    "venue": body.get("venue") or "KRX",
                    "received_us": received_ns // 1000,
                    "seq": seq,
                    "record": index,
                }
            )
    schema = TRADE_TICKS.spec.schema
    frame = pl.DataFrame(
        rows,
        schema={
            **{k: schema[k] for k in COLUMNS},
            "date": pl.Date,
            "clock": pl.String,
            "symbol": pl.String,
            "venue": pl.String,
            "received_us": pl.Int64,
            "seq": pl.Int64,
            "record": pl.Int32,
        },
    )
    frame = frame.with_columns(
        pl.concat_str(pl.col("date").dt.strftime("%Y%m%d"), pl.col("clock"))
        .str.strptime(pl.Datetime("us"), "%Y%m%d%H%M%S")
        .dt.replace_time_zone(KST_NAME, ambiguous="earliest")
        .alias("ts"),
        from_us(pl.col("received_us")).alias("received_at"),
        pl.lit(REST).alias("source"),
        pl.lit(REST_TR_ID).alias("tr_id"),
        pl.lit(segment_id).alias("segment_id"),
    )
    columns = [
        pl.col(c).cast(schema[c]) if c in frame.columns else pl.lit(None, schema[c]).alias(c)
        for c in schema
    ]
    return frame.select(columns), refused


def _day(text: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def _problem(row: dict[str, Any], day: dt.date | None, session_date: dt.date | None) -> str | None:
    price, volume, clock = row.get("price"), row.get("volume"), str(row.get("time"))
    if day is None or (session_date is not None and day != session_date):
        return "its date is not the session date"
    if not (len(clock) == 6 and clock.isdigit()):
        return f"time {clock!r} is not HHMMSS"
    if not isinstance(price, int) or price <= 0:
        return f"price {price} is not positive"
    if not isinstance(volume, int) or volume < 0:
        return f"volume {volume} is negative"
    return None
