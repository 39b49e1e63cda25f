"""How the simulator writes KIS master files (SPEC §14.2, §14.3), described on its own.

The client reads these files with its own description (`kis.master_layout`); the simulator does
not share it, so a wrong width or order on either side shows up as a failed round trip in the
tests instead of passing on both sides.

A stock line is a head and a tail. The head is the short code left-aligned in 9 characters, the
12-character ISIN, and the Korean name at whatever length it has. The tail is a run of slots, each
a KIS field of fixed width, in the order below; a slot's form says how its value is spelt. Values
are keyed by KIS field name; a slot without a value is blank.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Form = Literal["text", "yn", "number", "decimal", "ymd", "blank"]

ENCODING = "cp949"
SHORT_CODE_WIDTH = 9
ISIN_WIDTH = 12
THOUSAND_SHARES = 1_000  # lstn_stcn counts thousands of shares
HUNDRED_MILLION_KRW = 100_000_000  # prdy_avls_scal counts KRW 100 million


@dataclass(frozen=True)
class Slot:
    name: str  # the KIS field name
    width: int
    form: Form


def _slots(spec: str) -> tuple[Slot, ...]:
    """Slots from lines of `name width form`."""
    out = []
    for line in spec.strip().splitlines():
        name, width, form = line.split()
        out.append(Slot(name, int(width), form))  # type: ignore[arg-type]
    return tuple(out)


# The front of the tail: security group, size class and sector codes, then flags that differ by
# market around two runs of KRX sector-index memberships that all but KONEX share.
_CLASSIFICATION = _slots("""
scrt_grp_cls_code 2 text
avls_scal_cls_code 1 text
bstp_larg_div_code 4 text
bstp_medm_div_code 4 text
bstp_smal_div_code 4 text
""")

_KRX_SECTORS = _slots("""
krx100_issu_yn 1 yn
krx_car_yn 1 yn
krx_smcn_yn 1 yn
krx_bio_yn 1 yn
krx_bank_yn 1 yn
etpr_undt_objt_co_yn 1 yn
krx_enrg_chms_yn 1 yn
krx_stel_yn 1 yn
short_over_cls_code 1 text
krx_medi_cmnc_yn 1 yn
krx_cnst_yn 1 yn
""")

_KRX_SECTORS_2 = _slots("""
krx_scrt_yn 1 yn
krx_ship_yn 1 yn
krx_insu_yn 1 yn
krx_trnp_yn 1 yn
""")

_KOSPI_FRONT = (
    *_CLASSIFICATION,
    *_slots("""
mnin_cls_code_yn 1 yn
low_current_yn 1 yn
sprn_strr_nmix_issu_yn 1 yn
kospi200_apnt_cls_code 1 text
kospi100_issu_yn 1 yn
kospi50_issu_yn 1 yn
krx_issu_yn 1 yn
etp_prod_cls_code 1 text
elw_pblc_yn 1 yn
"""),
    *_KRX_SECTORS,
    # Retired by KRX (financial services); the slot stays, blank.
    *_slots("krx_fnnc_svc_yn 1 blank"),
    *_KRX_SECTORS_2,
    *_slots("sri_nmix_yn 1 yn"),
)

# KOSDAQ: a venture flag instead of the manufacturing and KOSPI index flags, investment caution
# where KOSPI keeps the retired slot, and KOSDAQ150 membership.
_KOSDAQ_FRONT = (
    *_CLASSIFICATION,
    *_slots("""
vntr_issu_yn 1 yn
low_current_yn 1 yn
krx_issu_yn 1 yn
etp_prod_cls_code 1 text
"""),
    *_KRX_SECTORS,
    *_slots("invt_alrm_yn 1 yn"),
    *_KRX_SECTORS_2,
    *_slots("ksq150_nmix_yn 1 yn"),
)

# Trading terms and listing facts: the same run in all three markets.
_TRADING = _slots("""
stck_sdpr 9 number
frml_mrkt_deal_qty_unit 5 number
ovtm_mrkt_deal_qty_unit 5 number
trht_yn 1 yn
sltr_yn 1 yn
mang_issu_yn 1 yn
mrkt_alrm_cls_code 2 text
mrkt_alrm_risk_adnt_yn 1 yn
insn_pbnt_yn 1 yn
byps_lstn_yn 1 yn
flng_cls_code 2 text
fcam_mod_cls_code 2 text
icic_cls_code 2 text
marg_rate 3 number
crdt_able 1 yn
crdt_days 3 number
prdy_vol 12 number
stck_fcam 12 number
stck_lstn_date 8 ymd
lstn_stcn 15 number
cpfn 21 number
stac_month 2 number
po_prc 7 number
prst_cls_code 1 text
ssts_hot_yn 1 yn
stange_runup_yn 1 yn
krx300_issu_yn 1 yn
""")

_FINANCIALS = _slots("""
sale_account 9 number
bsop_prfi 9 number
op_prfi 9 number
thtr_ntin 5 number
roe 9 decimal
base_date 8 text
prdy_avls_scal 9 number
""")

_GROUP = _slots("grp_code 3 text")

_LENDING = _slots("""
co_crdt_limt_over_yn 1 yn
secu_lend_able_yn 1 yn
stln_able_yn 1 yn
""")

TAILS: Mapping[str, tuple[Slot, ...]] = {
    "KOSPI": (
        *_KOSPI_FRONT,
        *_TRADING,
        *_slots("kospi_issu_yn 1 yn"),
        *_FINANCIALS,
        *_GROUP,
        *_LENDING,
    ),
    "KOSDAQ": (*_KOSDAQ_FRONT, *_TRADING, *_FINANCIALS, *_GROUP, *_LENDING),
    # KONEX has no sector codes, index memberships or business group.
    "KONEX": (*_slots("scrt_grp_cls_code 2 text"), *_TRADING, *_FINANCIALS, *_LENDING),
}
TAIL_WIDTHS: Mapping[str, int] = {"KOSPI": 227, "KOSDAQ": 221, "KONEX": 184}
for _market, _tail in TAILS.items():
    if sum(s.width for s in _tail) != TAIL_WIDTHS[_market]:
        raise AssertionError(f"{_market} tail slots do not add up to {TAIL_WIDTHS[_market]}")


def stock_file_name(market: str) -> str:
    """The .mst inside the zip, e.g. `kospi_code.mst`."""
    return f"{market.lower()}_code.mst"


def slot_span(market: str, name: str) -> tuple[int, int] | None:
    """(start within the market's tail, width) of field `name`, or None if the market lacks it."""
    position = 0
    for s in TAILS[market]:
        if s.name == name:
            return position, s.width
        position += s.width
    return None


def spell(s: Slot, value: object) -> str:
    """`value` in the slot's fixed width: numbers zero-padded on the left, Y/N, YYYYMMDD, text
    space-padded on the right; None (and any value of a blank slot) is all spaces."""
    if value is None or s.form == "blank":
        return " " * s.width
    if s.form == "yn":
        text = "Y" if value else "N"
    elif s.form == "ymd":
        if not isinstance(value, dt.date):
            raise ValueError(f"{s.name}: expected a date, got {value!r}")
        text = f"{value:%Y%m%d}"
    elif s.form == "number":
        number = int(value)  # type: ignore[call-overload]
        text = f"{number:0{s.width}d}" if number >= 0 else "-" + f"{-number}".zfill(s.width - 1)
    elif s.form == "decimal":
        text = f"{float(value):0{s.width}.2f}"  # type: ignore[arg-type]
    else:
        text = f"{value}".ljust(s.width)
    if len(text) != s.width:
        raise ValueError(f"{s.name}: {value!r} does not fit in {s.width} characters")
    return text


def stock_line(market: str, symbol: str, name: str, values: Mapping[str, object]) -> str:
    """One stock record (without its newline); `values` by KIS field name."""
    if len(symbol) > SHORT_CODE_WIDTH:
        raise ValueError(f"short code longer than {SHORT_CODE_WIDTH}: {symbol!r}")
    isin = isin_for(symbol)
    tail = "".join(spell(s, values.get(s.name)) for s in TAILS[market])
    line = symbol.ljust(SHORT_CODE_WIDTH) + isin + name + tail
    try:
        line.encode(ENCODING)
    except UnicodeEncodeError as exc:
        raise ValueError(f"{symbol} {name!r} cannot be written in CP949: {exc}") from None
    return line


def isin_check_digit(body: str) -> str:
    """ISO 6166 check digit of an 11-character ISIN body (letters count as 10..35)."""
    digits = "".join(str(int(ch, 36)) for ch in body.upper())
    total = 0
    # Luhn from the right: every second digit, starting with the rightmost, is doubled.
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            n = n - 9 if n > 9 else n
        total += n
    return str((10 - total % 10) % 10)


def isin_for(symbol: str) -> str:
    """A KRX-style ISIN for a short code: KR7 + 6-digit code + 00 + check digit.

    ETN short codes (Q + 6 digits) use the KRG prefix that KRX gives derivative-linked notes.
    """
    if symbol.startswith("Q") and len(symbol) == 7:
        body = f"KRG{symbol[1:]}00"
    else:
        body = f"KR7{symbol[:6].rjust(6, '0')}00"
    return body + isin_check_digit(body)


# ---- idxcode.mst (SPEC §14.3): market digit, 4-character code, name in 40 bytes -------------

INDEX_FILE = "idxcode.mst"
INDEX_NAME_BYTES = 40


def index_line(code: str, name: str) -> str:
    """One idxcode.mst record; the market digit repeats the code's first digit, as the
    specification's own example (large caps: 0 then 0002) shows."""
    if len(code) != 4:
        raise ValueError(f"index code must have 4 characters: {code!r}")
    size = len(name.encode(ENCODING))
    if size > INDEX_NAME_BYTES:
        raise ValueError(f"index name longer than {INDEX_NAME_BYTES} bytes: {name!r}")
    # Padded in bytes, not characters: a Korean character takes two.
    return code[0] + code + name + " " * (INDEX_NAME_BYTES - size)
