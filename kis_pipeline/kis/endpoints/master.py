"""The stock master files (SPEC §14): download, unzip, decode and parse into typed frames.

This module owns the client side of `kospi_code.mst.zip`, `kosdaq_code.mst.zip`,
`konex_code.mst.zip` and `idxcode.mst.zip`. The files live on KIS's download host, outside the
API gateway (no token, no rate limit), at `client.settings.master_url`. Field layouts come
from `kis.master_layout`; the simulator writes the files from its own description.

Parsing rules:
- the file is CP949, one record per line; a line is head + fixed-width tail and the tail is cut
  from the END of the line because the Korean name in the head has no fixed length;
- blank lines are skipped; a line that does not decode as CP949 raises `PayloadError` naming
  the file and the 1-based line number;
- a record is malformed when it is too short, its short code is not a KRX code (6 letters or
  digits, or Q and 6 digits for an ETN: `??????` and blank are not), or its tail does not fit
  the layout (a non-letter security group, non-numeric text in a numeric field, an impossible
  date). Parsed for a client (`fetch_master`), a malformed record is rejected alone into the
  client's reject log (`kis.rejects`, table `symbols`, the raw line kept) and the others are
  returned; when more than half of a file's records are malformed, the layout changed and
  `PayloadError` is raised instead, since a wrong tail length shifts every field. Without a
  log (`parse_master(data, market)`), the first malformed record raises;
- units become the warehouse's: `listed_shares` in shares (KIS: thousands), `market_cap` in KRW
  (KIS: KRW 100 million); flags become booleans (`Y` -> True, anything else -> False);
  all-blank or all-zero dates and blank numbers are null.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from typing import Protocol

import polars as pl

from kis_pipeline.kis.errors import PayloadError
from kis_pipeline.kis.master_layout import (
    ENCODING,
    HEAD_FIXED_WIDTH,
    INDEX_CODE_WIDTH,
    INDEX_DIV_WIDTH,
    INDEX_FILE_NAME,
    INDEX_NAME_WIDTH,
    INDEX_SCHEMA,
    LISTED_SHARES_UNIT,
    MARKET_CAP_UNIT,
    MARKETS,
    MASTER_SCHEMA,
    SHORT_CODE_WIDTH,
    STOCK_GROUPS,
    Field,
    MasterLayout,
    layout_for,
)
from kis_pipeline.kis.rejects import Reject, RejectLog, now_kst

__all__ = [
    "MASTER_SCHEMA",
    "STOCK_GROUPS",
    "fetch_index_codes",
    "fetch_master",
    "fetch_universe",
    "master_url",
    "only_stocks",
    "parse_index_codes",
    "parse_master",
]


class _Settings(Protocol):
    @property
    def master_url(self) -> str: ...


class _Downloader(Protocol):
    """The part of `KisClient` this module needs."""

    @property
    def settings(self) -> _Settings: ...

    def download(self, url: str) -> bytes: ...


# Text a field must match for the tail to be trusted. Flags and most codes are not checked:
# KIS leaves some of them blank or uses values the documentation does not list, and a shifted
# tail is caught anyway by the group code and the numeric and date fields around them.
_VALID: dict[str, str] = {
    "int": r"^(?: *-?\d+ *| *)$",
    "float": r"^(?: *-?\d+(?:\.\d+)? *| *)$",
    "date": r"^(?:\d{8}| {8})$",
}
_GROUP_PATTERN = r"^[A-Z]{2}$"
# A KRX short code: 6 digits or capital letters (alphanumeric codes since 2024), or Q and six
# digits for an ETN (SPEC §1).
_SYMBOL_PATTERN = r"^(?:Q\d{6}|[0-9A-Z]{6})$"
TABLE = "symbols"
_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"


def master_url(base_url: str, market: str) -> str:
    """The download URL of one market's master file under a base such as settings.master_url."""
    return f"{base_url.rstrip('/')}/{layout_for(market).zip_name}"


def fetch_master(client: _Downloader, market: str) -> pl.DataFrame:
    """Download and parse one market's master ("KOSPI", "KOSDAQ" or "KONEX").

    Every security of the file is returned (stocks, ETFs, ETNs, REITs, ...); see
    `fetch_universe` for ordinary stocks only. The frame follows `MASTER_SCHEMA`.
    """
    layout = layout_for(market)
    data = client.download(master_url(client.settings.master_url, layout.market))
    # Test doubles of the client may keep no log: they get the strict behaviour.
    return parse_master(data, layout.market, rejects=getattr(client, "rejects", None))


def fetch_universe(client: _Downloader, markets: Sequence[str] = MARKETS) -> pl.DataFrame:
    """The ordinary stocks of the given markets, concatenated in market order.

    "Ordinary stock" means `security_group` in `STOCK_GROUPS` (ST shares, FS foreign shares,
    KN KONEX shares): ETFs (EF), ETNs (EN, Q-prefixed codes), REITs (RT), funds, depositary
    receipts, ELWs and rights are dropped. Preferred shares and SPACs are shares (group ST) and
    stay; `preferred_class` and `is_spac` tell them apart.
    """
    frames = [fetch_master(client, market) for market in markets]
    return only_stocks(pl.concat(frames, how="vertical") if frames else _empty_master())


def only_stocks(frame: pl.DataFrame) -> pl.DataFrame:
    """Keep the rows of a master frame whose security group is an ordinary stock."""
    return frame.filter(pl.col("security_group").is_in(sorted(STOCK_GROUPS)))


def parse_master(data: bytes, market: str, *, rejects: RejectLog | None = None) -> pl.DataFrame:
    """Parse a master file: the zip as downloaded, or the bare `.mst` bytes inside it.

    Pure (no I/O), for tests and for files staged by hand. Malformed records go to `rejects`
    when given, else the first raises `PayloadError`; a file that is not a master of this
    market (most records malformed) always raises.
    """
    layout = layout_for(market)
    content = _unzip(data, layout.file_name)
    lines = dict(_decoded_lines(content, layout.file_name))
    minimum = HEAD_FIXED_WIDTH + layout.tail_width
    bad: dict[int, tuple[str | None, str]] = {
        line_no: (
            None,
            f"line {line_no} has {len(line)} characters, too short for a {layout.market} "
            f"record (9-character code, 12-character standard code, name, "
            f"{layout.tail_width}-character tail)",
        )
        for line_no, line in lines.items()
        if len(line) < minimum
    }
    raw = _raw_frame({n: line for n, line in lines.items() if n not in bad}, layout)
    bad.update(_text_problems(raw, layout))
    raw = raw.filter(~pl.col("line_no").is_in(list(bad)))
    parsed = raw.select(
        "line_no",
        "symbol",
        "standard_code",
        "name",
        pl.lit(layout.market, dtype=pl.String()).alias("market"),
        *(_typed(f) for f in layout.fields if f.column is not None),
    )
    bad.update(_date_problems(raw, parsed, layout))
    _settle(bad, lines, layout, rejects)
    parsed = parsed.filter(~pl.col("line_no").is_in(list(bad))).with_columns(
        pl.col("listed_shares") * LISTED_SHARES_UNIT,
        pl.col("market_cap") * MARKET_CAP_UNIT,
    )
    missing = [
        pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in MASTER_SCHEMA.items()
        if name not in parsed.columns
    ]
    return parsed.with_columns(missing).select(list(MASTER_SCHEMA)).cast(dict(MASTER_SCHEMA))


def fetch_index_codes(client: _Downloader) -> pl.DataFrame:
    """Download and parse `idxcode.mst.zip`: index_code, market_div, name."""
    url = f"{client.settings.master_url.rstrip('/')}/{INDEX_FILE_NAME}.zip"
    return parse_index_codes(client.download(url))


def parse_index_codes(data: bytes) -> pl.DataFrame:
    """Parse idxcode.mst (zipped or bare): market digit [0:1], code [1:5], name [5:45].

    The official script slices the name from [3:43], overlapping the code (SPEC §14.3); the
    struct (1 + 4 + 40) puts it at [5:45].
    """
    content = _unzip(data, INDEX_FILE_NAME)
    rows: dict[str, list[str]] = {"index_code": [], "market_div": [], "name": []}
    code_end = INDEX_DIV_WIDTH + INDEX_CODE_WIDTH
    for line_no, line in _decoded_lines(content, INDEX_FILE_NAME):
        code = line[INDEX_DIV_WIDTH:code_end]
        if len(line) <= code_end or not code.isalnum() or not code.isascii():
            raise PayloadError(
                f"{INDEX_FILE_NAME}: line {line_no} is not a 1-character market, 4-character "
                f"code and name: {line[: code_end + 10]!r}"
            )
        rows["index_code"].append(code)
        rows["market_div"].append(line[:INDEX_DIV_WIDTH])
        rows["name"].append(line[code_end : code_end + INDEX_NAME_WIDTH].strip())
    return pl.DataFrame(rows, schema=dict(INDEX_SCHEMA))


# ---- helpers ---------------------------------------------------------------------------------


def _empty_master() -> pl.DataFrame:
    return pl.DataFrame(schema=dict(MASTER_SCHEMA))


def _unzip(data: bytes, member: str) -> bytes:
    if not data.startswith((_ZIP_MAGIC, _EMPTY_ZIP_MAGIC)):
        return data
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
            chosen = next((n for n in names if n.rsplit("/", 1)[-1].lower() == member), None)
            if chosen is None and len(names) == 1:
                # KIS has always shipped one member per zip; accept a renamed one.
                chosen = names[0]
            if chosen is None:
                raise PayloadError(f"{member}.zip does not contain {member} (members: {names})")
            return archive.read(chosen)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise PayloadError(f"{member}.zip is not a readable zip archive: {exc}") from exc


def _decoded_lines(content: bytes, file_name: str) -> Iterable[tuple[int, str]]:
    """(1-based line number, decoded line without its line break), skipping blank lines.

    Lines are decoded one by one so that a bad byte is reported with its line; splitting the
    raw bytes on LF is safe because no CP949 trail byte is below 0x41.
    """
    for index, raw in enumerate(content.split(b"\n"), start=1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        try:
            yield index, raw.decode(ENCODING)
        except UnicodeDecodeError as exc:
            raise PayloadError(
                f"{file_name}: line {index} is not CP949 text (byte {exc.start}: "
                f"{raw[exc.start : exc.start + 2]!r})"
            ) from None


def _raw_frame(lines: dict[int, str], layout: MasterLayout) -> pl.DataFrame:
    """One row of text fields per line: the head cut from the start, the tail from the end."""
    heads = {n: line[: -layout.tail_width] for n, line in lines.items()}
    tails = {n: line[-layout.tail_width :] for n, line in lines.items()}
    fields = [f for f in layout.fields if f.column is not None]
    return pl.DataFrame(
        {
            "line_no": list(lines),
            "symbol": [h[:SHORT_CODE_WIDTH].strip() for h in heads.values()],
            "standard_code": [h[SHORT_CODE_WIDTH:HEAD_FIXED_WIDTH].strip() for h in heads.values()],
            "name": [h[HEAD_FIXED_WIDTH:].strip() for h in heads.values()],
            **{f.kis_name: [t[f.offset : f.end] for t in tails.values()] for f in fields},
        },
        schema={
            "line_no": pl.Int64(),
            "symbol": pl.String(),
            "standard_code": pl.String(),
            "name": pl.String(),
            **{f.kis_name: pl.String() for f in fields},
        },
    )


def _text_problems(raw: pl.DataFrame, layout: MasterLayout) -> dict[int, tuple[str | None, str]]:
    """line -> (field, reason) of the records whose short code or tail text does not fit."""
    checks: list[tuple[str, str, str]] = [("symbol", "mksc_shrn_iscd", _SYMBOL_PATTERN)]
    for f in layout.fields:
        if f.column is None:
            continue
        if f.kis_name == "scrt_grp_cls_code":
            checks.append((f.kis_name, f.kis_name, _GROUP_PATTERN))
        elif f.kind in _VALID:
            checks.append((f.kis_name, f.kis_name, _VALID[f.kind]))
    offsets = {f.kis_name: f.offset for f in layout.fields}
    problems: dict[int, tuple[str | None, str]] = {}
    if raw.is_empty():
        return problems
    flags = raw.select(
        "line_no",
        *(pl.col(c).str.contains(p).not_().alias(f"_{i}") for i, (c, _, p) in enumerate(checks)),
    )
    for i, (column, kis_name, _) in enumerate(checks):
        for row in raw.filter(flags[f"_{i}"]).select("line_no", column).iter_rows():
            line_no, value = row
            if line_no in problems:
                continue
            if column == "symbol":
                why = (
                    f"line {line_no}: short code {value!r} is not a KRX code (6 letters or "
                    "digits, or Q and 6 digits)"
                )
            else:
                why = (
                    f"line {line_no} does not fit the {layout.market} layout "
                    f"({layout.tail_width}-character tail): {kis_name} at tail offset "
                    f"{offsets[kis_name]} is {value!r}; the tail has the wrong length or the "
                    "layout changed"
                )
            problems[line_no] = (kis_name, why)
    return problems


def _date_problems(
    raw: pl.DataFrame, parsed: pl.DataFrame, layout: MasterLayout
) -> dict[int, tuple[str | None, str]]:
    """Eight digits that are not a calendar date (20241340) are a malformed record too."""
    problems: dict[int, tuple[str | None, str]] = {}
    for f in layout.fields:
        if f.kind != "date" or f.column is None:
            continue
        given = raw[f.kis_name].str.strip_chars()
        wrong = given.is_in(["", "00000000"]).not_() & parsed[f.column].is_null()
        for index in wrong.arg_true().to_list():
            line_no = int(raw["line_no"][index])
            why = f"line {line_no}: {f.kis_name} {given[index]!r} is not a YYYYMMDD date"
            problems.setdefault(line_no, (f.kis_name, why))
    return problems


def _settle(
    bad: dict[int, tuple[str | None, str]],
    lines: dict[int, str],
    layout: MasterLayout,
    rejects: RejectLog | None,
) -> None:
    """Raise for the first malformed record, or log them all when there is a log and most of
    the file is sound."""
    if not bad:
        return
    first = bad[min(bad)][1]
    if rejects is None:
        raise PayloadError(f"{layout.file_name}: {first}")
    if 2 * len(bad) > len(lines):
        raise PayloadError(
            f"{layout.file_name}: {len(bad)} of {len(lines)} records do not fit the "
            f"{layout.market} layout, e.g. {first}"
        )
    received_at = now_kst()
    rejects.add(
        Reject(
            received_at=received_at,
            endpoint=layout.file_name,
            tr_id="",
            table=TABLE,
            symbol=lines[line_no][:SHORT_CODE_WIDTH].strip() or None,
            date=None,
            field=field,
            reason=why,
            raw=lines[line_no],
        )
        for line_no, (field, why) in sorted(bad.items())
    )


def _typed(f: Field) -> pl.Expr:
    assert f.column is not None
    text = pl.col(f.kis_name)
    stripped = text.str.strip_chars()
    blank_as_null = pl.when(stripped == "").then(None).otherwise(stripped)
    if f.kind == "flag":
        expr = text == "Y"
    elif f.kind == "int":
        expr = blank_as_null.cast(pl.Int64())
    elif f.kind == "float":
        expr = blank_as_null.cast(pl.Float64())
    elif f.kind == "date":
        expr = (
            pl.when(stripped.is_in(["", "00000000"]))
            .then(None)
            .otherwise(stripped)
            .str.to_date("%Y%m%d", strict=False)
        )
    else:
        expr = blank_as_null
    return expr.alias(f.column)
