"""The simulator's stock master files: `kospi_code.mst.zip`, `kosdaq_code.mst.zip`,
`konex_code.mst.zip` and `idxcode.mst.zip`, built from the synthetic market.

This module owns the writer. The REST app serves `GET /common/master/<name>` with
`master_file(market, name)`. Records follow `simulator.master_format`, the simulator's own
description of the files (the client reads them with its own, so a drift between the two fails
the round-trip tests): CP949, one fixed-width record per line (head = 9-character short code,
12-character standard code, Korean name; then the market's tail with zero-padded numbers, Y/N
flags and YYYYMMDD dates).

What is synthetic about the content: the stocks are `market.listings` as of the last completed
session (base price and previous volume from that session's bar, market cap from
`market.market_cap`); the KOSPI200 sector code is set for the members of the market's KOSPI200
index, other index memberships and size classes come from the market-cap rank; the financial
summary fields are zero. KOSPI also lists non-stock securities, so that consumers meet the
same mix as in the real file and must filter on the security group: three that the market does
not trade (an ETF, an ETN with its Q code and a REIT) and the ETFs of `market_etfs`, whose
base price is their close of the session (`non_stocks`).

Files are cached per market instance and session date: the real host refreshes them daily.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
import weakref
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kis_pipeline.simulator.market_etfs import ETFS
from kis_pipeline.simulator.master_format import (
    ENCODING,
    HUNDRED_MILLION_KRW,
    INDEX_FILE,
    TAILS,
    THOUSAND_SHARES,
    index_line,
    stock_file_name,
    stock_line,
)

__all__ = [
    "MASTER_FILES",
    "NON_STOCKS",
    "SECTOR_CODES",
    "master_file",
    "non_stocks",
    "sector_code",
]


class _ListingLike(Protocol):
    symbol: str
    name: str
    market: str
    listed_shares: int
    par_value: int
    list_date: dt.date
    sector: str


# KRX KOSPI industry index codes (업종지수) for the sector names the market uses; the sector
# code goes into `bstp_larg_div_code`. KOSDAQ reuses them: its own code list is not modelled.
SECTOR_CODES: Mapping[str, str] = {
    "음식료품": "0005",
    "섬유의복": "0006",
    "종이목재": "0007",
    "화학": "0008",
    "의약품": "0009",
    "비금속광물": "0010",
    "철강금속": "0011",
    "기계": "0012",
    "전기·전자": "0013",
    "전기전자": "0013",
    "의료정밀": "0014",
    "운수장비": "0015",
    "유통업": "0016",
    "전기가스업": "0017",
    "건설업": "0018",
    "운수창고업": "0019",
    "통신업": "0020",
    "금융업": "0021",
    "증권": "0024",
    "보험": "0025",
    "서비스업": "0026",
}
# KOSPI200 sector (kospi200_apnt_cls_code) of a KOSPI200 member by its sector code: 1
# construction, 2 heavy industry, 3 steel/materials, 4 energy/chemicals, 5 IT, 6 financials,
# 7 staples, 8 discretionary, 9 industrials, A health care, B communication services.
_KOSPI200_SECTORS: Mapping[str, str] = {
    "0005": "7",
    "0006": "8",
    "0007": "3",
    "0008": "4",
    "0009": "A",
    "0010": "3",
    "0011": "3",
    "0012": "2",
    "0013": "5",
    "0014": "A",
    "0015": "8",
    "0016": "8",
    "0017": "9",
    "0018": "1",
    "0019": "9",
    "0020": "B",
    "0021": "6",
    "0024": "6",
    "0025": "6",
    "0026": "B",
}
_KOSPI200_CODE = "2001"
_MANUFACTURING = frozenset(
    {"0005", "0006", "0007", "0008", "0009", "0010", "0011", "0012", "0013", "0014", "0015"}
)
_UNKNOWN_SECTOR = "0000"


def sector_code(sector: str) -> str:
    """The 4-digit sector code written for a listing's sector (0000 when unknown)."""
    if len(sector) == 4 and sector.isdigit():
        return sector
    return SECTOR_CODES.get(sector, _UNKNOWN_SECTOR)


@dataclass(frozen=True)
class NonStock:
    """A KOSPI security that is not a share: present in the file, absent from the market."""

    symbol: str
    name: str
    security_group: str  # scrt_grp_cls_code
    etp_type: str  # etp_prod_cls_code
    listed_shares: int
    par_value: int
    list_date: dt.date
    base_price: int


NON_STOCKS: tuple[NonStock, ...] = (
    NonStock(
        "459583", "시뮬 코스피200 ETF", "EF", "2", 45_000_000, 0, dt.date(2023, 6, 20), 35_000
    ),
    NonStock(
        "Q500001",
        "시뮬 인버스 2X 원유선물 ETN(H)",
        "EN",
        "3",
        20_000_000,
        0,
        dt.date(2016, 2, 24),
        9_800,
    ),
    NonStock("395402", "시뮬리츠", "RT", "0", 60_000_000, 1_000, dt.date(2021, 8, 10), 5_100),
)

# KRX's ETP class of a beneficiary-certificate ETF (수익증권형 ETF), as KODEX and TIGER funds are.
_BENEFICIARY_ETF = "2"


def non_stocks(market: Any, session: dt.date | None) -> list[NonStock]:
    """The KOSPI master's securities that are not shares: `NON_STOCKS`, then the ETFs of
    `market_etfs.ETFS` at their close of `session` (0 without one)."""
    etf_bar = getattr(market, "etf_bar", None)
    etfs = []
    for etf in ETFS:
        bar = etf_bar(etf.code, session) if callable(etf_bar) and session is not None else None
        close = bar.close if bar is not None else 0
        etfs.append(
            NonStock(
                etf.code,
                etf.name,
                "EF",
                _BENEFICIARY_ETF,
                etf.listed_shares,
                0,
                etf.list_date,
                close,
            )
        )
    return [*NON_STOCKS, *etfs]


_STOCK_FILES: dict[str, str] = {f"{stock_file_name(market)}.zip": market for market in TAILS}
_INDEX_ZIP = f"{INDEX_FILE}.zip"
MASTER_FILES: tuple[str, ...] = (*_STOCK_FILES, _INDEX_ZIP)

# Size class and index membership by market-cap rank within the market.
_SIZE_CUTOFFS: dict[str, tuple[int, int]] = {"KOSPI": (100, 300), "KOSDAQ": (100, 400)}

_cache: weakref.WeakKeyDictionary[Any, dict[tuple[str, dt.date | None], bytes]] = (
    weakref.WeakKeyDictionary()
)
_cache_lock = threading.Lock()


def master_file(market: Any, name: str) -> bytes | None:
    """The zip bytes of master file `name` for this market, or None for an unknown name.

    `market` is a `simulator.market.Market` (anything with `listings`; `INDEX_CODES`,
    `last_completed_session`, `bar`, `market_cap` and `index_members` are used when present).
    """
    if name not in MASTER_FILES:
        return None
    session = _session(market)
    key = (name, session)
    with _cache_lock:
        try:
            cached = _cache.get(market, {}).get(key)
        except TypeError:  # not weak-referenceable: build every time
            cached = None
    if cached is not None:
        return cached
    data = _build(market, name, session)
    if data is None:
        return None
    with _cache_lock:
        try:
            entries = _cache.setdefault(market, {})
        except TypeError:
            return data
        # Keep only the current session's files: yesterday's are never asked for again.
        for old in [k for k in entries if k[1] != session]:
            del entries[old]
        entries[key] = data
    return data


def _session(market: Any) -> dt.date | None:
    last = getattr(market, "last_completed_session", None)
    return last() if callable(last) else None


def _build(market: Any, name: str, session: dt.date | None) -> bytes | None:
    if name == _INDEX_ZIP:
        codes = getattr(market, "INDEX_CODES", None)
        if not codes:
            return None
        lines = [index_line(code, label) for code, label in sorted(codes.items())]
        return _zip(INDEX_FILE, lines, session)
    board = _STOCK_FILES[name]
    listings = [x for x in market.listings if x.market == board]
    lines = list(_stock_lines(market, board, listings, session))
    if board == "KOSPI":
        taken = {x.symbol for x in listings}
        others = non_stocks(market, session)
        lines += [_non_stock_line(item) for item in others if item.symbol not in taken]
    # Records sorted by short code, like the published files.
    lines.sort(key=lambda line: line[:9])
    return _zip(stock_file_name(board), lines, session)


def _stock_lines(
    market: Any, board: str, listings: list[_ListingLike], session: dt.date | None
) -> Iterable[str]:
    bars = {x.symbol: _bar(market, x.symbol, session) for x in listings}
    caps = {x.symbol: _market_cap(market, x, bars[x.symbol], session) for x in listings}
    ranked = sorted(listings, key=lambda x: (-caps[x.symbol], x.symbol))
    rank = {x.symbol: i + 1 for i, x in enumerate(ranked)}
    large, mid = _SIZE_CUTOFFS.get(board, (0, 0))
    kospi200 = set(_index_members(market, _KOSPI200_CODE)) if board == "KOSPI" else set()
    for listing in listings:
        bar = bars[listing.symbol]
        position = rank[listing.symbol]
        sector = sector_code(listing.sector)
        values: dict[str, object] = {
            **_defaults(board),
            "scrt_grp_cls_code": "ST",
            "avls_scal_cls_code": "1" if position <= large else "2" if position <= mid else "3",
            "bstp_larg_div_code": sector,
            "mnin_cls_code_yn": sector in _MANUFACTURING,
            # Non-zero exactly for the members of the market's KOSPI200 index.
            "kospi200_apnt_cls_code": (
                _KOSPI200_SECTORS.get(sector, "9") if listing.symbol in kospi200 else "0"
            ),
            "kospi100_issu_yn": board == "KOSPI" and position <= 100,
            "kospi50_issu_yn": board == "KOSPI" and position <= 50,
            "ksq150_nmix_yn": board == "KOSDAQ" and position <= 150,
            "kospi_issu_yn": board == "KOSPI",
            "stck_sdpr": bar.close if bar is not None else 0,
            "prdy_vol": bar.volume if bar is not None else 0,
            "stck_fcam": listing.par_value,
            "stck_lstn_date": listing.list_date,
            "lstn_stcn": _thousands(listing.listed_shares),
            "cpfn": listing.par_value * listing.listed_shares,
            # KRX gives preferred shares codes ending in 5, 7 or 9 (005935 for 005930).
            "prst_cls_code": "1" if listing.symbol[5:6] in ("5", "7", "9") else "0",
            "prdy_avls_scal": caps[listing.symbol] // HUNDRED_MILLION_KRW,
        }
        yield stock_line(board, listing.symbol, listing.name, values)


def _non_stock_line(item: NonStock) -> str:
    values: dict[str, object] = {
        **_defaults("KOSPI"),
        "scrt_grp_cls_code": item.security_group,
        "etp_prod_cls_code": item.etp_type,
        "avls_scal_cls_code": "0",
        "crdt_able": False,
        "crdt_days": 0,
        "stln_able_yn": False,
        "stck_sdpr": item.base_price,
        "stck_fcam": item.par_value,
        "stck_lstn_date": item.list_date,
        "lstn_stcn": _thousands(item.listed_shares),
        "cpfn": item.par_value * item.listed_shares,
        "prdy_avls_scal": item.base_price * item.listed_shares // HUNDRED_MILLION_KRW,
    }
    return stock_line("KOSPI", item.symbol, item.name, values)


def _defaults(board: str) -> dict[str, object]:
    """Values of an ordinary, unremarkable listing, by KIS field; every flag not set here is N."""
    values: dict[str, object] = {s.name: False for s in TAILS[board] if s.form == "yn"}
    values.update(
        {
            "avls_scal_cls_code": "3",
            "bstp_larg_div_code": _UNKNOWN_SECTOR,
            "bstp_medm_div_code": _UNKNOWN_SECTOR,
            "bstp_smal_div_code": _UNKNOWN_SECTOR,
            "kospi200_apnt_cls_code": "0",
            "etp_prod_cls_code": "0",
            "short_over_cls_code": "0",
            "frml_mrkt_deal_qty_unit": 1,
            "ovtm_mrkt_deal_qty_unit": 1,
            "mrkt_alrm_cls_code": "00",
            "flng_cls_code": "00",
            "fcam_mod_cls_code": "00",
            "icic_cls_code": "00",
            "marg_rate": 40,
            "crdt_able": True,
            "crdt_days": 90,
            "prdy_vol": 0,
            "stac_month": 12,
            "po_prc": 0,
            "prst_cls_code": "0",
            "sale_account": 0,
            "bsop_prfi": 0,
            "op_prfi": 0,
            "thtr_ntin": 0,
            "roe": 0.0,
            "grp_code": "000",
            "secu_lend_able_yn": True,
            "stln_able_yn": True,
        }
    )
    return values


def _thousands(shares: int) -> int:
    # lstn_stcn carries thousands of shares; round half up like a published figure.
    return (shares + THOUSAND_SHARES // 2) // THOUSAND_SHARES


def _index_members(market: Any, code: str) -> list[str]:
    members = getattr(market, "index_members", None)
    return list(members(code)) if callable(members) else []


def _bar(market: Any, symbol: str, session: dt.date | None) -> Any:
    bar = getattr(market, "bar", None)
    if session is None or not callable(bar):
        return None
    return bar(symbol, session)


def _market_cap(market: Any, listing: _ListingLike, bar: Any, session: dt.date | None) -> int:
    cap = getattr(market, "market_cap", None)
    if session is not None and callable(cap):
        return int(cap(listing.symbol, session))
    return int(bar.close) * listing.listed_shares if bar is not None else 0


def _zip(member: str, lines: list[str], session: dt.date | None) -> bytes:
    content = "".join(f"{line}\n" for line in lines).encode(ENCODING)
    # A fixed timestamp (the session date) keeps the bytes identical for identical content.
    stamp = session or dt.date(1980, 1, 1)
    info = zipfile.ZipInfo(member, date_time=(stamp.year, stamp.month, stamp.day, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(info, content)
    return buffer.getvalue()
