"""Record corruption: one KIS field of one symbol's records replaced in what the simulator
sends, so tests reproduce a malformed value end to end (`--faults corrupt=...`).

`corrupt=FIELD:VALUE:SYMBOL[:YYYYMMDD[:TR_ID]]` rewrites FIELD (KIS's name: `stck_clpr`,
`acml_vol`, `mksc_shrn_iscd`, ...) in every record of SYMBOL, or only in its record of that day
(an empty date is every day), and only in answers of TR_ID when one is given (several endpoints
carry the same field for the same code: a stock's chart and its investor flows):
- in REST answers, a record is SYMBOL's when the request names it (`FID_INPUT_ISCD`, `SYMB`,
  `MKSC_SHRN_ISCD`, `PDNO`, `SHT_CD`: a stock, an index code such as 0001 for index bars and
  market flows; `FID_MRKT_CLS_CODE`: a market, `K` or `Q`, for a market's program trading) or
  the record carries it (`stck_shrn_iscd`, `mksc_shrn_iscd`, `inter_shrn_iscd`, the KSD
  schedules' `sht_cd`); its day is
  `stck_bsop_date`/`xymd`/`deal_date`/`bsop_date`;
- in the stock master files, a record is the line whose short code is SYMBOL; FIELD is a tail
  field of the layout or `mksc_shrn_iscd` (the short code itself), padded to the field's width.

VALUE is the text sent ("" for blank), or `xN` to multiply the value sent by N (a 10x spike is
`x10`), `!drop` to leave the record out, `!absent` to leave the field out of the record.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from kis_pipeline.simulator.master_format import (
    ENCODING,
    SHORT_CODE_WIDTH,
    TAIL_WIDTHS,
    TAILS,
    slot_span,
    stock_file_name,
)

DROP = "!drop"
ABSENT = "!absent"
_MULTIPLY = re.compile(r"^x(\d+(?:\.\d+)?)$")
REQUEST_SYMBOL = ("FID_INPUT_ISCD", "SYMB", "MKSC_SHRN_ISCD", "PDNO", "SHT_CD", "FID_MRKT_CLS_CODE")
RECORD_SYMBOL = ("stck_shrn_iscd", "mksc_shrn_iscd", "inter_shrn_iscd", "sht_cd")
RECORD_DATE = ("stck_bsop_date", "xymd", "deal_date", "bsop_date")
SHORT_CODE = "mksc_shrn_iscd"
FORMAT = "FIELD:VALUE:SYMBOL[:YYYYMMDD[:TR_ID]]"


@dataclass(frozen=True)
class Corruption:
    field: str
    value: str
    symbol: str
    date: dt.date | None = None
    tr_id: str = ""

    @classmethod
    def parse(cls, text: str) -> Corruption:
        parts = text.split(":")
        if not 3 <= len(parts) <= 5 or not parts[0] or not parts[2]:
            raise ValueError(f"fault 'corrupt' needs {FORMAT}, got {text!r}")
        day, tr_id = [*parts[3:], "", ""][:2]
        date = None
        if day:
            try:
                date = dt.datetime.strptime(day, "%Y%m%d").date()
            except ValueError:
                raise ValueError(f"fault 'corrupt': {day!r} is not a YYYYMMDD date") from None
        return cls(parts[0], parts[1], parts[2], date, tr_id)

    def __str__(self) -> str:
        day = f"{self.date:%Y%m%d}" if self.date else ""
        tail = f":{day}:{self.tr_id}" if self.tr_id else f":{day}" if day else ""
        return f"{self.field}:{self.value}:{self.symbol}{tail}"

    def text_for(self, sent: str) -> str:
        """The text that replaces `sent` (VALUE, or `sent` multiplied for `xN`)."""
        factor = _MULTIPLY.match(self.value)
        if factor is None:
            return self.value
        try:
            original = Decimal(sent)
        except InvalidOperation:
            return sent
        scaled = (original * Decimal(factor.group(1))).quantize(original)
        return str(scaled)


def corrupt_body(
    body: dict[str, Any],
    query: Mapping[str, str],
    corruptions: Sequence[Corruption],
    *,
    tr_id: str = "",
) -> dict[str, Any]:
    """`body` (an answer of `tr_id`) with the corruptions applied to the records of its
    `output*` containers."""
    corruptions = [c for c in corruptions if not c.tr_id or c.tr_id == tr_id]
    if not corruptions:
        return body
    folded = {k.upper(): v.strip() for k, v in query.items()}
    requested = {folded[k] for k in REQUEST_SYMBOL if k in folded}
    out = dict(body)
    for name, container in body.items():
        if not name.startswith("output"):
            continue
        if isinstance(container, list):
            out[name] = [r for r in _records(container, requested, corruptions) if r is not None]
        elif isinstance(container, dict):
            out[name] = next(iter(_records([container], requested, corruptions))) or {}
    return out


def _records(
    records: Iterable[Any], requested: set[str], corruptions: Sequence[Corruption]
) -> Iterable[dict[str, Any] | None]:
    for record in records:
        if not isinstance(record, dict):
            yield record
            continue
        symbols = requested | {str(record[k]) for k in RECORD_SYMBOL if k in record}
        day = next((str(record[k]) for k in RECORD_DATE if k in record), None)
        changed: dict[str, Any] | None = dict(record)
        for c in corruptions:
            if changed is None or c.symbol not in symbols:
                continue
            if c.date is not None and day != f"{c.date:%Y%m%d}":
                continue
            if c.value == DROP:
                changed = None
            elif c.value == ABSENT:
                changed.pop(c.field, None)
            elif c.field in changed:
                changed[c.field] = c.text_for(str(changed[c.field]))
        yield changed


def corrupt_master(data: bytes, name: str, corruptions: Sequence[Corruption]) -> bytes:
    """A master zip with the corruptions applied to the lines of their symbols."""
    board = next((m for m in TAILS if f"{stock_file_name(m)}.zip" == name), None)
    corruptions = [c for c in corruptions if not c.tr_id]
    if board is None or not corruptions:
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.infolist()[0]
        lines = archive.read(info).decode(ENCODING).split("\n")
    changed = [_corrupt_line(line, board, corruptions) for line in lines]
    content = "\n".join(line for line in changed if line is not None).encode(ENCODING)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(info, content)
    return buffer.getvalue()


def _corrupt_line(line: str, board: str, corruptions: Sequence[Corruption]) -> str | None:
    symbol = line[:SHORT_CODE_WIDTH].strip()
    for c in corruptions:
        if not line or c.symbol != symbol:
            continue
        if c.value == DROP:
            return None
        if c.field == SHORT_CODE:
            line = _fit(c.text_for(symbol), SHORT_CODE_WIDTH) + line[SHORT_CODE_WIDTH:]
            continue
        span = slot_span(board, c.field)
        if span is None:
            continue
        offset, width = span
        start = len(line) - TAIL_WIDTHS[board] + offset
        sent = line[start : start + width]
        line = line[:start] + _fit(c.text_for(sent.strip()), width) + line[start + width :]
    return line


def _fit(text: str, width: int) -> str:
    """`text` in a fixed-width field: numbers right-aligned with zeros, the rest left-aligned."""
    if text.lstrip("-").isdigit():
        return text.rjust(width, "0")[-width:]
    return text.ljust(width)[:width]
