"""Stock master files: the client's layout and parser, the simulator's writer, and their round
trip (each side has its own description of the format)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field
from types import SimpleNamespace

import polars as pl
import pytest

from kis_pipeline.kis.endpoints.master import (
    MASTER_SCHEMA,
    fetch_index_codes,
    fetch_master,
    fetch_universe,
    parse_index_codes,
    parse_master,
)
from kis_pipeline.kis.errors import PayloadError
from kis_pipeline.kis.master_layout import KONEX, KOSDAQ, KOSPI, layout_for
from kis_pipeline.kis.rejects import RejectLog
from kis_pipeline.simulator.corrupt import Corruption, corrupt_master
from kis_pipeline.simulator.market_etfs import ETFS
from kis_pipeline.simulator.master_format import TAILS, Slot, isin_check_digit, stock_line
from kis_pipeline.simulator.masters import NON_STOCKS, master_file, sector_code

LONG_NAME = "한국글로벌헬스케어반도체소재부품장비인프라투자홀딩스"  # far past any usual width


@dataclass(frozen=True)
class _Listing:
    symbol: str
    name: str
    market: str
    listed_shares: int
    par_value: int
    list_date: dt.date
    sector: str


@dataclass
class _StandInMarket:
    """Just enough of `simulator.market.Market` for the writer: listings and index codes."""

    listings: list[_Listing] = field(
        default_factory=lambda: [
            _Listing(
                "005930", "삼성전자", "KOSPI", 5_969_782_550, 100, dt.date(1975, 6, 11), "전기·전자"
            ),
            _Listing(
                "005935", "삼성전자우", "KOSPI", 822_886_700, 100, dt.date(1989, 9, 25), "전기·전자"
            ),
            _Listing("000100", LONG_NAME, "KOSPI", 1_000_000, 5_000, dt.date(2001, 2, 3), "화학"),
            _Listing("000200", "LG", "KOSPI", 157_324_724, 5_000, dt.date(1970, 2, 13), "서비스업"),
            _Listing(
                "247540",
                "에코프로비엠",
                "KOSDAQ",
                97_801_344,
                500,
                dt.date(2019, 3, 5),
                "전기·전자",
            ),
            _Listing("000300", "가", "KOSDAQ", 12_345_000, 500, dt.date(2010, 12, 31), "의약품"),
            _Listing(
                "000400", "코넥스 바이오 A", "KONEX", 3_000_000, 500, dt.date(2016, 7, 1), "의약품"
            ),
        ]
    )
    INDEX_CODES: dict[str, str] = field(
        default_factory=lambda: {
            "0001": "KOSPI",
            "1001": "KOSDAQ",
            "2001": "KOSPI200",
        }
    )

    # Identity hashing, as a plain class has, so the writer can cache per instance.
    __hash__ = object.__hash__


class _FakeClient:
    def __init__(self, market: object) -> None:
        self.market = market
        self.settings = SimpleNamespace(master_url="http://127.0.0.1:1/common/master/")
        self.urls: list[str] = []

    def download(self, url: str) -> bytes:
        self.urls.append(url)
        data = master_file(self.market, url.rsplit("/", 1)[-1])
        assert data is not None, url
        return data


def _mst(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        (member,) = archive.namelist()
        return archive.read(member)


def _rounded_shares(shares: int) -> int:
    return (shares + 500) // 1000 * 1000


# ---- layout -----------------------------------------------------------------------------------


def test_layout_tails_have_the_documented_widths_and_offsets() -> None:
    assert (KOSPI.tail_width, KOSDAQ.tail_width, KONEX.tail_width) == (227, 221, 184)
    spots = {
        (KOSPI, "stck_sdpr"): (41, 9),
        (KOSPI, "stck_lstn_date"): (105, 8),
        (KOSPI, "lstn_stcn"): (113, 15),
        (KOSPI, "prdy_avls_scal"): (212, 9),
        (KOSPI, "stln_able_yn"): (226, 1),
        (KOSDAQ, "ksq150_nmix_yn"): (35, 1),
        (KOSDAQ, "stck_lstn_date"): (100, 8),
        (KOSDAQ, "grp_code"): (215, 3),
        (KONEX, "stck_fcam"): (54, 12),
        (KONEX, "prdy_avls_scal"): (172, 9),
    }
    for (layout, name), (offset, width) in spots.items():
        f = next(f for f in layout.fields if f.kis_name == name)
        assert (f.offset, f.width) == (offset, width), (layout.market, name)


def test_isin_check_digit_matches_real_codes() -> None:
    assert isin_check_digit("KR700593000") == "3"  # KR7005930003
    assert isin_check_digit("US037833100") == "5"  # US0378331005


# ---- writer -> parser -------------------------------------------------------------------------


@pytest.mark.parametrize("market", ["KOSPI", "KOSDAQ", "KONEX"])
def test_round_trip_equals_the_listings(market: str) -> None:
    sim = _StandInMarket()
    data = master_file(sim, f"{market.lower()}_code.mst.zip")
    assert data is not None
    frame = parse_master(data, market)
    assert frame.schema == pl.Schema(MASTER_SCHEMA)
    stocks = frame.filter(pl.col("security_group") == "ST").sort("symbol")
    expected = sorted((x for x in sim.listings if x.market == market), key=lambda x: x.symbol)
    assert stocks.select("symbol", "name", "market", "par_value", "list_date").rows() == [
        (x.symbol, x.name, x.market, x.par_value, x.list_date) for x in expected
    ]
    # lstn_stcn carries thousands of shares: the round trip is exact to the thousand.
    assert stocks["listed_shares"].to_list() == [_rounded_shares(x.listed_shares) for x in expected]
    if market != "KONEX":  # KONEX publishes no sector codes
        assert stocks["sector_large"].to_list() == [sector_code(x.sector) for x in expected]
    assert all(code.startswith("KR7") and len(code) == 12 for code in stocks["standard_code"])


def test_round_trip_with_the_simulated_market() -> None:
    market_module = pytest.importorskip("kis_pipeline.simulator.market")
    from kis_pipeline.simulator.config import SimConfig

    sim = market_module.Market(SimConfig(universe=30))
    client = _FakeClient(sim)
    universe = fetch_universe(client)
    listings = sorted(sim.listings, key=lambda x: (x.market, x.symbol))
    got = universe.sort("market", "symbol")
    assert got.select("symbol", "name", "market", "par_value", "list_date").rows() == [
        (x.symbol, x.name, x.market, x.par_value, x.list_date) for x in listings
    ]
    assert got["listed_shares"].to_list() == [_rounded_shares(x.listed_shares) for x in listings]
    session = sim.last_completed_session()
    first = got.row(0, named=True)
    bar = sim.bar(first["symbol"], session)
    assert first["base_price"] == bar.close
    assert first["prev_volume"] == bar.volume
    assert first["market_cap"] == sim.market_cap(first["symbol"], session) // 10**8 * 10**8
    kospi200 = set(sim.index_members("2001"))
    in_kospi200 = set(got.filter(pl.col("kospi200_sector").ne("0"))["symbol"])
    assert in_kospi200 == kospi200
    index_codes = fetch_index_codes(client)
    assert dict(index_codes.select("index_code", "name").rows()) == dict(sim.INDEX_CODES)


def _distinct_value(slot: Slot, i: int) -> object:
    """A value for the i-th slot that no neighbour shares, so a shifted field cannot match."""
    if slot.form == "yn":
        return i % 2 == 0
    if slot.form == "ymd":
        return dt.date(2000, 1, 1) + dt.timedelta(days=37 * i)
    if slot.form == "number":
        return int(str(i % 9 + 1) * min(slot.width, 6))
    if slot.form == "decimal":
        return 12.5 + i
    if slot.form == "text":
        return "".join(chr(ord("A") + (i + k) % 26) for k in range(slot.width))
    return None


@pytest.mark.parametrize("market", ["KOSPI", "KOSDAQ", "KONEX"])
def test_every_field_the_simulator_writes_is_read_back_by_the_client(market: str) -> None:
    """The two descriptions of the format agree field by field: a width, an order or a form that
    differs between `simulator.master_format` and `kis.master_layout` fails here."""
    layout = layout_for(market)
    assert [s.name for s in TAILS[market]] == [f.kis_name for f in layout.fields]
    written = {s.name: _distinct_value(s, i) for i, s in enumerate(TAILS[market])}
    line = stock_line(market, "005930", "삼성전자", written)
    row = parse_master(f"{line}\n".encode("cp949"), market).row(0, named=True)
    assert (row["symbol"], row["standard_code"], row["name"]) == (
        "005930",
        "KR7005930003",
        "삼성전자",
    )
    units = {"lstn_stcn": 1_000, "prdy_avls_scal": 100_000_000}
    for f in layout.fields:
        if f.column is not None:
            value = written[f.kis_name]
            expected = value * units[f.kis_name] if f.kis_name in units else value  # type: ignore[operator]
            assert row[f.column] == expected, (market, f.kis_name)


def test_writer_caches_per_market_and_knows_its_files() -> None:
    sim = _StandInMarket()
    first = master_file(sim, "kospi_code.mst.zip")
    assert first is not None
    assert master_file(sim, "kospi_code.mst.zip") is first
    assert master_file(_StandInMarket(), "kospi_code.mst.zip") == first  # deterministic bytes
    assert master_file(sim, "theme_code.mst.zip") is None
    assert master_file(sim, "../kospi_code.mst.zip") is None


def test_writer_emits_fixed_width_cp949_records() -> None:
    text = _mst(master_file(_StandInMarket(), "kospi_code.mst.zip") or b"").decode("cp949")
    lines = text.split("\n")
    assert lines[-1] == ""  # every record ends with a line break
    for line in lines[:-1]:
        head = line[: -KOSPI.tail_width]
        assert len(head) >= 21
        assert line[-KOSPI.tail_width :].isascii()
    long_line = next(line for line in lines if LONG_NAME in line)
    assert long_line.startswith("000100   KR7000100")


def test_index_codes_round_trip() -> None:
    sim = _StandInMarket()
    frame = parse_index_codes(master_file(sim, "idxcode.mst.zip") or b"")
    assert frame.rows() == [
        ("0001", "0", "KOSPI"),
        ("1001", "1", "KOSDAQ"),
        ("2001", "2", "KOSPI200"),
    ]


# ---- a hand-written record --------------------------------------------------------------------


def _kospi_fixture_tail() -> str:
    """One KOSPI tail written field by field from the published layout, not by the writer."""
    parts = [
        "ST",  # scrt_grp_cls_code
        "2",  # avls_scal_cls_code
        "0027",
        "0013",
        "0000",  # sector large / mid / small
        "Y",
        "N",
        "N",  # manufacturing, low liquidity, governance index
        "5",  # kospi200 sector
        "Y",
        "N",
        "Y",  # kospi100, kospi50, krx
        "0",  # etp type
        "N",
        "Y",  # elw issued, krx100
        "N",
        "Y",
        "N",
        "N",  # krx autos, semiconductors, bio, banks
        "N",  # SPAC
        "N",
        "N",  # krx energy/chem, steel
        "1",  # short-term overheat
        "N",
        "N",  # krx media/telecom, construction
        " ",  # deleted krx_fnnc_svc_yn
        "N",
        "N",
        "N",
        "N",  # krx securities, ship, insurance, transport
        "Y",  # SRI
        "000071500",  # stck_sdpr
        "00001",
        "00001",  # lots
        "N",
        "N",
        "Y",  # halted, liquidation, administrative
        "01",  # market warning
        "N",
        "N",
        "N",  # risk pre-notice, unfaithful disclosure, backdoor listing
        "02",
        "01",
        "00",  # ex-rights, par change, capital increase
        "040",  # margin rate
        "Y",  # credit allowed
        "090",  # credit days
        "000012345678",  # prdy_vol
        "000000000500",  # stck_fcam
        "19960701",  # stck_lstn_date
        "000000000123457",  # lstn_stcn (thousands)
        "000000000061728500000",  # cpfn
        "12",  # stac_month
        "0015000",  # po_prc
        "0",  # prst_cls_code
        "N",
        "Y",
        "Y",
        "Y",  # short-sale overheat, abnormal surge, krx300, kospi
        "000012345",
        "-00001234",
        "000000777",
        "00055",  # revenue, op profit, ordinary, net
        "000012.34",  # roe
        "20240930",  # base_date
        "000088312",  # prdy_avls_scal (KRW 100m)
        "017",  # grp_code
        "N",
        "Y",
        "N",  # credit limit exceeded, collateral loan, stock loan
    ]
    tail = "".join(parts)
    assert len(tail) == 227
    return tail


def test_hand_written_cp949_record_parses_to_the_right_fields() -> None:
    tail = _kospi_fixture_tail()
    line_long = "123455   KR7123455004" + LONG_NAME + "  " + tail
    line_short = "Q700001  KRG700001004" + "가" + tail.replace("ST", "EN", 1)
    data = b"\r\n".join(line.encode("cp949") for line in ("", line_long, line_short)) + b"\r\n"
    frame = parse_master(data, "KOSPI")
    assert frame.height == 2
    row = frame.row(0, named=True)
    assert row["symbol"] == "123455"
    assert row["standard_code"] == "KR7123455004"
    assert row["name"] == LONG_NAME
    assert row["market"] == "KOSPI"
    assert row["security_group"] == "ST"
    assert (row["size_class"], row["sector_large"], row["sector_mid"], row["sector_small"]) == (
        "2",
        "0027",
        "0013",
        "0000",
    )
    assert row["kospi200_sector"] == "5"
    assert row["is_manufacturing"] is True and row["is_low_liquidity"] is False
    assert row["in_kospi100"] is True and row["in_kospi50"] is False
    assert row["in_krx_semiconductors"] is True and row["in_sri_index"] is True
    assert row["short_term_overheat"] == "1"
    assert row["base_price"] == 71_500
    assert (row["lot_size"], row["after_hours_lot_size"]) == (1, 1)
    assert row["is_halted"] is False and row["is_administrative"] is True
    assert row["market_warning"] == "01"
    assert (row["ex_rights_code"], row["par_change_code"], row["capital_increase_code"]) == (
        "02",
        "01",
        "00",
    )
    assert (row["margin_rate"], row["is_credit_allowed"], row["credit_days"]) == (40, True, 90)
    assert row["prev_volume"] == 12_345_678
    assert row["par_value"] == 500
    assert row["list_date"] == dt.date(1996, 7, 1)
    assert row["listed_shares"] == 123_457_000
    assert row["capital"] == 61_728_500_000
    assert (row["fiscal_month"], row["ipo_price"], row["preferred_class"]) == (12, 15_000, "0")
    assert row["in_krx300"] is True and row["in_kospi"] is True
    assert (row["revenue"], row["operating_profit"], row["ordinary_profit"], row["net_income"]) == (
        12_345,
        -1_234,
        777,
        55,
    )
    assert row["roe"] == pytest.approx(12.34)
    assert row["financials_base"] == "20240930"
    assert row["market_cap"] == 88_312 * 100_000_000
    assert row["business_group"] == "017"
    assert (
        row["is_credit_limit_exceeded"],
        row["is_collateral_loan_allowed"],
        row["is_stock_loan_allowed"],
    ) == (False, True, False)
    # Fields KOSPI does not publish are null, not False.
    assert row["is_venture"] is None and row["in_kosdaq150"] is None

    short = frame.row(1, named=True)
    assert (short["symbol"], short["name"], short["security_group"]) == ("Q700001", "가", "EN")
    assert short["base_price"] == 71_500


def test_parse_accepts_the_zip_as_downloaded() -> None:
    line = "123455   KR7123455004동양" + _kospi_fixture_tail()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("kospi_code.mst", (line + "\n").encode("cp949"))
    frame = parse_master(buffer.getvalue(), "KOSPI")
    assert frame["name"].to_list() == ["동양"]


# ---- malformed files --------------------------------------------------------------------------


def _kosdaq_lines() -> list[bytes]:
    return _mst(master_file(_StandInMarket(), "kosdaq_code.mst.zip") or b"").split(b"\n")


def test_wrong_tail_length_raises_with_the_line_number() -> None:
    tail = _kospi_fixture_tail()
    good = ("123455   KR7123455004동양" + tail).encode("cp949")
    # One character too many inside the tail (a field KIS might add): everything shifts.
    longer = ("123465   KR7123465002동양" + tail[:60] + "N" + tail[60:]).encode("cp949")
    data = b"\n".join([good, b"", good, longer, good])
    with pytest.raises(PayloadError, match=r"kospi_code\.mst: line 4 .*227-character tail"):
        parse_master(data, "KOSPI")
    # One character short at the end.
    shorter = ("123465   KR7123465002동양" + tail[:-1]).encode("cp949")
    with pytest.raises(PayloadError, match=r"kospi_code\.mst: line 2 "):
        parse_master(b"\n".join([good, shorter]), "KOSPI")


def test_a_kospi_record_is_not_a_kosdaq_record() -> None:
    # The wrong market's file has the wrong tail length on every line.
    data = _mst(master_file(_StandInMarket(), "kospi_code.mst.zip") or b"")
    with pytest.raises(PayloadError, match=r"kosdaq_code\.mst: line 1 "):
        parse_master(data, "KOSDAQ")


def test_too_short_line_raises_with_the_line_number() -> None:
    lines = _kosdaq_lines()
    lines.insert(1, b"000500   KR7000500000")
    with pytest.raises(PayloadError, match=r"kosdaq_code\.mst: line 2 has 21 characters"):
        parse_master(b"\n".join(lines), "KOSDAQ")


def test_non_cp949_bytes_raise_with_the_line_number() -> None:
    lines = _kosdaq_lines()
    lines[1] = lines[1][:21] + b"\xff\xfe" + lines[1][21:]
    with pytest.raises(PayloadError, match=r"kosdaq_code\.mst: line 2 is not CP949"):
        parse_master(b"\n".join(lines), "KOSDAQ")


def test_impossible_date_raises() -> None:
    tail = _kospi_fixture_tail().replace("19960701", "19961341")
    with pytest.raises(PayloadError, match=r"line 1: stck_lstn_date '19961341'"):
        parse_master(("123455   KR7123455004동양" + tail).encode("cp949"), "KOSPI")


def test_blank_lines_are_skipped_and_empty_files_give_an_empty_frame() -> None:
    lines = _kosdaq_lines()
    padded = b"\r\n".join([b"", b"   ", *[line for line in lines if line], b"", b""])
    assert parse_master(padded, "KOSDAQ").height == 2
    empty = parse_master(b"\n\n", "KONEX")
    assert empty.is_empty() and empty.schema == pl.Schema(MASTER_SCHEMA)


def test_a_broken_zip_is_a_payload_error() -> None:
    data = master_file(_StandInMarket(), "konex_code.mst.zip") or b""
    with pytest.raises(PayloadError, match=r"konex_code\.mst"):
        parse_master(data[: len(data) // 2], "KONEX")


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("mksc_shrn_iscd", "??????", "short code '??????' is not a KRX code"),
        ("mksc_shrn_iscd", "", "short code '' is not a KRX code"),
        ("lstn_stcn", "abc", "lstn_stcn at tail offset"),
        ("stck_lstn_date", "20241340", "stck_lstn_date '20241340' is not a YYYYMMDD date"),
    ],
)
def test_a_malformed_record_is_rejected_alone_with_its_line(
    field: str, value: str, reason: str
) -> None:
    data = master_file(_StandInMarket(), "kospi_code.mst.zip") or b""
    broken = corrupt_master(data, "kospi_code.mst.zip", [Corruption(field, value, "000200")])
    log = RejectLog()

    frame = parse_master(broken, "KOSPI", rejects=log)

    healthy = parse_master(data, "KOSPI").filter(pl.col("symbol") != "000200")
    assert frame.equals(healthy)
    [reject] = log.records()
    assert (reject.table, reject.endpoint, reject.field) == ("symbols", "kospi_code.mst", field)
    assert reason in reject.reason
    assert "LG" in reject.raw and reject.raw in _mst(broken).decode("cp949")
    # Without a log the same file is refused, as before.
    with pytest.raises(PayloadError, match=r"kospi_code\.mst: line \d"):
        parse_master(broken, "KOSPI")


def test_a_file_whose_records_mostly_do_not_fit_is_refused_even_with_a_log() -> None:
    data = _mst(master_file(_StandInMarket(), "kospi_code.mst.zip") or b"")
    with pytest.raises(PayloadError, match=r"kosdaq_code\.mst: \d+ of \d+ records do not fit"):
        parse_master(data, "KOSDAQ", rejects=RejectLog())


# ---- client -----------------------------------------------------------------------------------


def test_fetch_master_downloads_the_market_file() -> None:
    client = _FakeClient(_StandInMarket())
    frame = fetch_master(client, "kosdaq")
    assert client.urls == ["http://127.0.0.1:1/common/master/kosdaq_code.mst.zip"]
    assert set(frame["market"]) == {"KOSDAQ"}
    with pytest.raises(ValueError, match="unknown master market"):
        fetch_master(client, "NASDAQ")


def test_universe_keeps_only_ordinary_stocks() -> None:
    sim = _StandInMarket()
    client = _FakeClient(sim)
    kospi = fetch_master(client, "KOSPI")
    non_stock = {item.symbol for item in NON_STOCKS} | {etf.code for etf in ETFS}
    assert non_stock <= set(kospi["symbol"])
    etn = kospi.filter(pl.col("symbol").str.starts_with("Q")).row(0, named=True)
    assert (etn["security_group"], etn["etp_type"]) == ("EN", "3")
    etfs = kospi.filter(pl.col("security_group") == "EF").sort("symbol")
    # The example ETF and the ETFs the simulator models a NAV for (`market_etfs`).
    assert etfs["symbol"].to_list() == ["069500", "102110", "114800", "122630", "459583"]
    assert set(etfs["etp_type"]) == {"2"}

    client.urls.clear()
    universe = fetch_universe(client)
    assert [url.rsplit("/", 1)[-1] for url in client.urls] == [
        "kospi_code.mst.zip",
        "kosdaq_code.mst.zip",
        "konex_code.mst.zip",
    ]
    assert not non_stock & set(universe["symbol"])
    assert sorted(universe["symbol"]) == sorted(x.symbol for x in sim.listings)
    assert universe.schema == pl.Schema(MASTER_SCHEMA)
    preferred = universe.filter(pl.col("symbol") == "005935").row(0, named=True)
    assert preferred["preferred_class"] == "1"
