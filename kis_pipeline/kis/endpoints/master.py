"""The stock master files (SPEC §14): download, unzip, decode and parse into typed frames.

This module owns the client side of `kospi_code.mst.zip`, `kosdaq_code.mst.zip`,
`konex_code.mst.zip` and `idxcode.mst.zip`. The files live on KIS's download host, outside the
API gateway (no token, no rate limit), at `client.settings.master_url`. Field layouts come
from `kis.master_layout`, which the simulator's writer shares.

Parsing rules:
- the file is CP949, one record per line; a line is head + fixed-width tail and the tail is cut
  from the END of the line because the Korean name in the head has no fixed length;
- blank lines are skipped; a line that does not decode as CP949, is too short, or whose tail
  does not fit the layout (a non-letter security group, non-numeric text in a numeric field,
  an impossible date) raises `PayloadError` naming the file and the 1-based line number, since
  a wrong tail length shifts every field and would otherwise load garbage silently;
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
    return parse_master(data, layout.market)


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


def parse_master(data: bytes, market: str) -> pl.DataFrame:
    """Parse a master file: the zip as downloaded, or the bare `.mst` bytes inside it.

    Pure (no I/O), for tests and for files staged by hand. Raises `PayloadError` on a file that
    is not a master of this market.
    """
    layout = layout_for(market)
    content = _unzip(data, layout.file_name)
    symbols: list[str] = []
    standard_codes: list[str] = []
    names: list[str] = []
    tails: list[str] = []
    line_nos: list[int] = []
    minimum = HEAD_FIXED_WIDTH + layout.tail_width
    for line_no, line in _decoded_lines(content, layout.file_name):
        if len(line) < minimum:
            raise PayloadError(
                f"{layout.file_name}: line {line_no} has {len(line)} characters, too short for "
                f"a {layout.market} record (9-character code, 12-character standard code, "
                f"name, {layout.tail_width}-character tail)"
            )
        head, tail = line[: -layout.tail_width], line[-layout.tail_width :]
        symbols.append(head[:SHORT_CODE_WIDTH].strip())
        standard_codes.append(head[SHORT_CODE_WIDTH:HEAD_FIXED_WIDTH].strip())
        names.append(head[HEAD_FIXED_WIDTH:].strip())
        tails.append(tail)
        line_nos.append(line_no)

    raw = pl.DataFrame(
        {
            "line_no": line_nos,
            "symbol": symbols,
            "standard_code": standard_codes,
            "name": names,
            **{
                f.kis_name: [t[f.offset : f.end] for t in tails]
                for f in layout.fields
                if f.column is not None
            },
        },
        schema={
            "line_no": pl.Int64(),
            "symbol": pl.String(),
            "standard_code": pl.String(),
            "name": pl.String(),
            **{f.kis_name: pl.String() for f in layout.fields if f.column is not None},
        },
    )
    _validate(raw, layout)
    parsed = raw.select(
        "symbol",
        "standard_code",
        "name",
        pl.lit(layout.market, dtype=pl.String()).alias("market"),
        *(_typed(f) for f in layout.fields if f.column is not None),
    )
    _check_dates(raw, parsed, layout)
    parsed = parsed.with_columns(
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


def _validate(raw: pl.DataFrame, layout: MasterLayout) -> None:
    checks: list[tuple[Field, str]] = []
    for f in layout.fields:
        if f.column is None:
            continue
        if f.kis_name == "scrt_grp_cls_code":
            checks.append((f, _GROUP_PATTERN))
        elif f.kind in _VALID:
            checks.append((f, _VALID[f.kind]))
    if raw.is_empty() or not checks:
        return
    flags = raw.select(
        "line_no",
        *(
            pl.col(f.kis_name).str.contains(pattern).not_().alias(f.kis_name)
            for f, pattern in checks
        ),
    )
    bad = flags.filter(pl.any_horizontal(pl.exclude("line_no")))
    if bad.is_empty():
        return
    first = bad.row(0, named=True)
    field = next(f for f, _ in checks if first[f.kis_name])
    value = raw.filter(pl.col("line_no") == first["line_no"])[field.kis_name][0]
    raise PayloadError(
        f"{layout.file_name}: line {first['line_no']} does not fit the {layout.market} layout "
        f"({layout.tail_width}-character tail): {field.kis_name} at tail offset {field.offset} "
        f"is {value!r}; the tail has the wrong length or the layout changed"
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


def _check_dates(raw: pl.DataFrame, parsed: pl.DataFrame, layout: MasterLayout) -> None:
    """Eight digits that are not a calendar date (20241340) are a malformed record too."""
    for f in layout.fields:
        if f.kind != "date" or f.column is None:
            continue
        given = raw[f.kis_name].str.strip_chars()
        wrong = given.is_in(["", "00000000"]).not_() & parsed[f.column].is_null()
        if wrong.any():
            index = int(wrong.arg_true()[0])
            raise PayloadError(
                f"{layout.file_name}: line {raw['line_no'][index]}: {f.kis_name} "
                f"{given[index]!r} is not a YYYYMMDD date"
            )
