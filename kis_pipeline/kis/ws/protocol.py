"""The KIS WebSocket protocol as pure functions: requests out, server messages in (SPEC §15).

No I/O here. The collector feeds every text message to `parse_message`; data frames become
records with `decode_records` (one frame) or `parse_frames` / `parse_segment` (bulk, for the
persistence layer, which parses spooled frames by the hundred thousand).

Record width. A frame `<encrypt>|<TR_ID>|<count>|<payload>` carries records joined with `^` and
no separator between records. The count field is a claim to check, not the truth: the payload
is cut into records of the TR's column count, and the count only decides between layouts:
- `count` records of the TR's column count, or of one of its known older widths
  (`columns.OLDER_WIDTHS`, missing trailing columns are None): that layout;
- `count` records each 1..MAX_NEW_COLUMNS fields longer: KIS appended columns we do not know
  yet; the known ones are read, the rest dropped (and reported as `extra_fields`);
- anything else means the count is wrong: every whole record of the current (else an older)
  width is kept, and fields left after the last whole record are a partial record, which
  `parse_frames` reports in `partials` (the persistence layer keeps it in `stream_rejects`).
  A frame without one whole record is an error.
A wrong count with a partial record of at most MAX_NEW_COLUMNS fields per claimed record cannot
be told from appended columns; it is read as appended columns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from kis_pipeline.kis.errors import KisApiError, PayloadError, error_for
from kis_pipeline.kis.ws import crypto
from kis_pipeline.kis.ws.columns import COLUMNS, OLDER_WIDTHS

PINGPONG = "PINGPONG"
TR_TYPE_SUBSCRIBE = "1"
TR_TYPE_UNSUBSCRIBE = "2"
SUBSCRIBE_SUCCESS = "OPSP0000"
UNSUBSCRIBE_SUCCESS = "OPSP0001"
ALREADY_SUBSCRIBED = "OPSP0002"
FRAME_INDEX = "frame_index"
_MAX_COUNT = 999  # `count` is three digits on the wire
# KIS has appended one column at a time; more unknown fields per record than this are read
# as a wrong count with a partial record, not as a new layout.
MAX_NEW_COLUMNS = 4


# --- requests (client -> server) ---------------------------------------------------------


def request_message(
    approval_key: str, tr_id: str, tr_key: str, tr_type: str, *, custtype: str = "P"
) -> str:
    """The JSON text of one (un)registration (SPEC §15.2)."""
    return json.dumps(
        {
            "header": {
                "approval_key": approval_key,
                "custtype": custtype,
                "tr_type": tr_type,
                "content-type": "utf-8",
            },
            "body": {"input": {"tr_id": tr_id, "tr_key": tr_key}},
        },
        separators=(",", ":"),
    )


def subscribe_message(approval_key: str, tr_id: str, tr_key: str, *, custtype: str = "P") -> str:
    return request_message(approval_key, tr_id, tr_key, TR_TYPE_SUBSCRIBE, custtype=custtype)


def unsubscribe_message(approval_key: str, tr_id: str, tr_key: str, *, custtype: str = "P") -> str:
    return request_message(approval_key, tr_id, tr_key, TR_TYPE_UNSUBSCRIBE, custtype=custtype)


# --- server messages ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DataMessage:
    """A data frame, not yet split into records (the payload may still be encrypted)."""

    encrypted: bool
    tr_id: str
    count: int
    payload: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Ack:
    """The server's JSON answer to a (un)registration, success or failure (SPEC §15.3).

    Failures carry rt_cd != "0" and an OPSP code; `error()` maps them onto kis.errors.
    """

    tr_id: str
    tr_key: str
    encrypt: bool
    rt_cd: str
    msg_cd: str
    msg1: str
    # AES parameters for this TR's frames; kept out of repr so they never reach a log line.
    key: str = field(default="", repr=False)
    iv: str = field(default="", repr=False)

    @property
    def ok(self) -> bool:
        return self.rt_cd == "0"

    @property
    def is_unsubscribe(self) -> bool:
        return self.msg_cd == UNSUBSCRIBE_SUCCESS or self.msg1.startswith("UNSUB")

    def error(self) -> KisApiError:
        """The typed error for a failed ack (SubscriptionLimit, AppKeyInUse, BusinessError...)."""
        return error_for(
            self.msg_cd or f"rt_cd={self.rt_cd}",
            self.msg1,
            tr_id=self.tr_id,
            params={"tr_key": self.tr_key},
        )


@dataclass(frozen=True, slots=True)
class PingPong:
    """The server heartbeat; answer at once with `raw` (as a pong frame or as text)."""

    raw: str
    datetime: str


ServerMessage = DataMessage | Ack | PingPong


def _head(text: str) -> str:
    """The part of a frame that is safe to quote in an error (never the payload)."""
    return text[:40] if text[:1] not in ("0", "1") else "|".join(text.split("|", 3)[:3])


def parse_message(text: str) -> ServerMessage:
    """Classify one text message from the server. Raises PayloadError if it is neither."""
    if not text:
        raise PayloadError("empty WebSocket message")
    if text[0] in ("0", "1"):
        parts = text.split("|", 3)
        if len(parts) != 4 or not parts[1]:
            raise PayloadError(f"data frame without 4 '|' parts: {_head(text)!r}")
        return DataMessage(
            encrypted=parts[0] == "1",
            tr_id=parts[1],
            count=_parse_count(parts[2], text),
            payload=parts[3],
        )
    try:
        obj = json.loads(text)
    except ValueError:
        raise PayloadError(f"message is neither a data frame nor JSON: {_head(text)!r}") from None
    if not isinstance(obj, dict) or not ("header" in obj or "body" in obj):
        raise PayloadError(f"JSON message without header/body: {_head(text)!r}")
    header = _as_dict(obj.get("header"))
    tr_id = str(header.get("tr_id") or "")
    if tr_id == PINGPONG:
        return PingPong(raw=text, datetime=str(header.get("datetime") or ""))
    body = _as_dict(obj.get("body"))
    output = _as_dict(body.get("output"))
    return Ack(
        tr_id=tr_id,
        tr_key=str(header.get("tr_key") or ""),
        encrypt=str(header.get("encrypt") or "N").upper() == "Y",
        rt_cd=str(body.get("rt_cd") or ""),
        msg_cd=str(body.get("msg_cd") or ""),
        msg1=str(body.get("msg1") or "").strip(),
        key=str(output.get("key") or ""),
        iv=str(output.get("iv") or ""),
    )


def pong_text(ping: PingPong) -> str:
    """What to send back for a PINGPONG: the very text received."""
    return ping.raw


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _parse_count(raw: str, text: str) -> int:
    if not raw.isdigit():
        raise PayloadError(f"record count {raw!r} is not a number: {_head(text)!r}")
    count = int(raw)
    if not 1 <= count <= _MAX_COUNT:
        raise PayloadError(f"record count {count} out of range: {_head(text)!r}")
    return count


# --- records -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Layout:
    """How a frame's fields divide into records (see the module docstring)."""

    width: int  # fields per record on the wire
    records: int  # whole records present
    leftover: int  # trailing fields that make no whole record

    def mismatch(self, tr_id: str, count: int) -> str:
        """The reject reason for the leftover partial record."""
        return (
            f"{tr_id}: count field says {count} record(s) but the frame holds {self.records}"
            f" whole record(s) of {self.width} fields and {self.leftover} field(s) left over"
        )


def layout(tr_id: str, field_count: int, count: int) -> Layout:
    """Split `field_count` fields of `tr_id` into records; PayloadError for an unknown TR."""
    columns = COLUMNS.get(tr_id)
    if columns is None:
        raise PayloadError(f"unknown real-time TR {tr_id!r}")
    if count < 1:
        raise PayloadError(f"{tr_id}: record count {count} out of range")
    n = len(columns)
    widths = (n, *OLDER_WIDTHS.get(tr_id, ()))
    for width in widths:
        if field_count == count * width:
            return Layout(width, count, 0)
    per_record, rem = divmod(field_count, count)
    if not rem and n < per_record <= n + MAX_NEW_COLUMNS:
        return Layout(per_record, count, 0)
    # The count is wrong: whole records of a known width are kept, whatever the count says.
    for width in widths:
        if field_count % width == 0:
            return Layout(width, field_count // width, 0)
    return Layout(n, field_count // n, field_count % n)


@dataclass(frozen=True, slots=True)
class Records:
    """The whole records of one data frame, each aligned to the TR's current columns."""

    tr_id: str
    columns: tuple[str, ...]
    rows: list[tuple[str | None, ...]]  # None = column absent from an older layout
    width: int  # fields per record on the wire
    count: int = 0  # what the frame's count field claimed
    leftover: tuple[str, ...] = ()  # fields after the last whole record (a partial record)

    @property
    def extra_fields(self) -> int:
        """Trailing fields per record beyond the known columns (dropped)."""
        return max(0, self.width - len(self.columns))

    def as_dicts(self) -> list[dict[str, str | None]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def split_records(tr_id: str, payload: str, count: int) -> Records:
    """Split a decrypted payload into whole records of the TR's columns.

    PayloadError when not even one whole record is there; a partial record after whole ones
    is returned as `leftover`.
    """
    fields = payload.split("^")
    shape = layout(tr_id, len(fields), count)
    if not shape.records:
        raise PayloadError(shape.mismatch(tr_id, count))
    columns = COLUMNS[tr_id]
    n, width = len(columns), shape.width
    pad: tuple[None, ...] = (None,) * max(0, n - width)
    rows: list[tuple[str | None, ...]] = [
        tuple(fields[start : start + min(n, width)]) + pad
        for start in range(0, shape.records * width, width)
    ]
    leftover = tuple(fields[shape.records * width :])
    return Records(tr_id, columns, rows, width, count, leftover)


def decrypt(message: DataMessage, key: str, iv: str) -> str:
    """The plain payload of an encrypted frame (PayloadError if it cannot be decrypted)."""
    try:
        return crypto.decrypt_payload(message.payload, key, iv)
    except ValueError as exc:
        raise PayloadError(f"{message.tr_id}: {exc}") from None


def decode_records(message: DataMessage, *, key: str = "", iv: str = "") -> Records:
    """Records of one data frame, decrypting it first if needed (key/iv from the TR's ack)."""
    payload = message.payload
    if message.encrypted:
        if not key or not iv:
            raise PayloadError(f"{message.tr_id}: encrypted frame but no key/iv from its ack")
        payload = decrypt(message, key, iv)
    return split_records(message.tr_id, payload, message.count)


def decode_frame(text: str, keys: Mapping[str, tuple[str, str]] | None = None) -> Records:
    """`parse_message` + `decode_records` for a text known to be a data frame.

    `keys` maps tr_id -> (key, iv) for encrypted TRs.
    """
    message = parse_message(text)
    if not isinstance(message, DataMessage):
        raise PayloadError(f"not a data frame: {_head(text)!r}")
    key, iv = (keys or {}).get(message.tr_id, ("", ""))
    return decode_records(message, key=key, iv=iv)


# --- bulk --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkResult:
    """Records of many frames of one TR as a frame of strings.

    `frame` has `frame_index` (position of the source frame in the input, one row per record,
    in input order) and one Utf8 column per TR column; `errors` lists (input position,
    reason) for frames that could not be parsed, and `partials` (input position, record
    index, reason) for a partial record left after a frame's whole records, so callers can
    keep and count both.
    """

    tr_id: str
    frame: pl.DataFrame
    errors: list[tuple[int, str]]
    partials: list[tuple[int, int, str]]
    extra_fields: int  # widest run of unknown trailing fields seen (0 normally)

    @property
    def records(self) -> int:
        return self.frame.height


def parse_frames(
    tr_id: str,
    frames: Sequence[str],
    *,
    key: str = "",
    iv: str = "",
    positions: Sequence[int] | None = None,
) -> BulkResult:
    """Parse raw frame texts of one TR in bulk.

    `positions` (same length as `frames`) gives the `frame_index` to report for each frame;
    by default its position in `frames`.
    """
    columns = COLUMNS.get(tr_id)
    if columns is None:
        raise PayloadError(f"unknown real-time TR {tr_id!r}")
    n = len(columns)
    plain = f"0|{tr_id}|"
    crypted = f"1|{tr_id}|"
    skip = len(plain)
    # width -> (payloads, frame positions, record counts); almost always one width.
    groups: dict[int, tuple[list[str], list[int], list[int]]] = {}
    # (fields, count) -> layout: a stream repeats a handful of frame shapes.
    shapes: dict[tuple[int, int], Layout] = {}
    errors: list[tuple[int, str]] = []
    partials: list[tuple[int, int, str]] = []
    for i, text in enumerate(frames):
        pos = positions[i] if positions is not None else i
        # The count and the payload are read in place: slicing the header off copies the
        # payload, and a segment holds tens of megabytes of them.
        bar = text.find("|", skip)
        start = bar + 1 if bar >= 0 else len(text)  # where the payload starts
        payload: str | None = None  # a plain frame's stays in `text` until its shape is known
        if text.startswith(crypted):
            if not key or not iv:
                errors.append((pos, "encrypted frame but no key/iv"))
                continue
            try:
                payload = crypto.decrypt_payload(text[start:], key, iv)
            except ValueError as exc:
                errors.append((pos, str(exc)))
                continue
        elif not text.startswith(plain):
            errors.append((pos, f"not a {tr_id} data frame: {_head(text)!r}"))
            continue
        raw_count = text[skip:bar]
        if bar < 0 or not raw_count.isdigit() or not 1 <= int(raw_count) <= _MAX_COUNT:
            errors.append((pos, f"bad record count: {_head(text)!r}"))
            continue
        count = int(raw_count)
        fields = (text.count("^", start) if payload is None else payload.count("^")) + 1
        shape = shapes.get((fields, count))
        if shape is None:
            shape = shapes[fields, count] = layout(tr_id, fields, count)
        if payload is None:
            payload = text[start:]
        if shape.leftover:
            if not shape.records:
                errors.append((pos, shape.mismatch(tr_id, count)))
                continue
            partials.append((pos, shape.records, shape.mismatch(tr_id, count)))
            payload = "^".join(payload.split("^")[: shape.records * shape.width])
        group = groups.get(shape.width)
        if group is None:
            group = groups[shape.width] = ([], [], [])
        group[0].append(payload)
        group[1].append(pos)
        group[2].append(shape.records)
    parts = [_group_frame(columns, width, *group) for width, group in groups.items()]
    if not parts:
        frame = pl.DataFrame(schema={FRAME_INDEX: pl.Int64, **dict.fromkeys(columns, pl.Utf8)})
    elif len(parts) == 1:
        frame = parts[0]
    else:
        frame = pl.concat(parts).sort(FRAME_INDEX, maintain_order=True)
    extra = max((w - n for w in groups if w > n), default=0)
    return BulkResult(
        tr_id=tr_id, frame=frame, errors=errors, partials=partials, extra_fields=extra
    )


def _group_frame(
    columns: tuple[str, ...],
    width: int,
    payloads: list[str],
    positions: list[int],
    counts: list[int],
) -> pl.DataFrame:
    # Splitting and regrouping run inside polars: one split of every payload, then each TR
    # column is every `width`-th field of the flat list. Building Python strings per field
    # instead costs about four times as much, and polars' CSV reader fed one line per record
    # (the record ends found with numpy) twice as much CPU as this.
    fields = pl.Series("f", payloads, dtype=pl.Utf8).str.split("^").explode()
    index = pl.Series(FRAME_INDEX, np.repeat(positions, counts), dtype=pl.Int64)
    picks = [
        fields.gather_every(width, j).alias(name)
        if j < width
        else pl.repeat(None, index.len(), dtype=pl.Utf8, eager=True).alias(name)
        for j, name in enumerate(columns)
    ]
    return pl.DataFrame([index, *picks])


@dataclass(frozen=True)
class SegmentParse:
    """`parse_segment` output: one BulkResult per TR plus what was not a data frame."""

    tables: dict[str, BulkResult]
    control: list[int]  # positions of JSON messages (acks, PINGPONG)
    errors: list[tuple[int, str]]  # data frames of unknown TRs, or garbage

    @property
    def error_count(self) -> int:
        return len(self.errors) + sum(len(t.errors) for t in self.tables.values())


def parse_segment(
    frames: Sequence[str],
    keys: Mapping[str, tuple[str, str]] | None = None,
    *,
    pool: Executor | None = None,
) -> SegmentParse:
    """Parse a mixed list of raw messages (as spooled by the collector), grouped by TR.

    With `pool`, the TRs are parsed side by side (the work is in polars, which releases the GIL).
    """
    by_tr: dict[str, tuple[list[str], list[int]]] = {}
    control: list[int] = []
    errors: list[tuple[int, str]] = []
    for i, text in enumerate(frames):
        head = text[:1]
        if head in ("0", "1"):
            first = text.find("|")
            second = text.find("|", first + 1) if first >= 0 else -1
            tr_id = text[first + 1 : second] if second >= 0 else ""
            if tr_id not in COLUMNS:
                errors.append((i, f"data frame of unknown TR: {_head(text)!r}"))
                continue
            bucket = by_tr.get(tr_id)
            if bucket is None:
                bucket = by_tr[tr_id] = ([], [])
            bucket[0].append(text)
            bucket[1].append(i)
        elif head == "{":
            control.append(i)
        else:
            errors.append((i, f"neither a data frame nor JSON: {_head(text)!r}"))

    def parse(tr_id: str) -> BulkResult:
        key, iv = (keys or {}).get(tr_id, ("", ""))
        texts, positions = by_tr[tr_id]
        return parse_frames(tr_id, texts, key=key, iv=iv, positions=positions)

    tables = dict(zip(by_tr, pool.map(parse, by_tr) if pool else map(parse, by_tr), strict=True))
    return SegmentParse(tables=tables, control=control, errors=errors)
