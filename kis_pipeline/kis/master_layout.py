"""The fixed-width layouts of the KIS stock master files (SPEC §14.2, §14.3).

The client's description of every field of `kospi_code.mst`, `kosdaq_code.mst`,
`konex_code.mst` and `idxcode.mst`: its KIS name, width, offset within the tail, the English
column it becomes and how its text is read. The client's parser (`kis.endpoints.master`) reads
with it. The simulator writes the files from its own description (`simulator.master_format`),
so a wrong layout here fails the round-trip tests instead of passing on both sides.

A stock record is `head + tail`. The head is the 9-character short code (right-padded), the
12-character standard code (ISIN) and the Korean name, whose length varies; the tail has a fixed
width per market, so it is sliced from the END of the line. Widths count characters of the
decoded CP949 text, as the official parser does; the tail is pure ASCII, so characters and
bytes agree there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import polars as pl

Kind = Literal["code", "flag", "int", "float", "date", "text"]

MARKETS: tuple[str, ...] = ("KOSPI", "KOSDAQ", "KONEX")

SHORT_CODE_WIDTH = 9
STANDARD_CODE_WIDTH = 12
HEAD_FIXED_WIDTH = SHORT_CODE_WIDTH + STANDARD_CODE_WIDTH

ENCODING = "cp949"

# Published units that the parser converts into the warehouse's units (DESIGN §3.4).
LISTED_SHARES_UNIT = 1_000  # lstn_stcn is in thousands of shares
MARKET_CAP_UNIT = 100_000_000  # prdy_avls_scal is in KRW 100 million


@dataclass(frozen=True)
class Field:
    """One fixed-width tail field.

    `column` is the English column in the parsed frame; None marks a field KIS keeps only as a
    placeholder (it is skipped when parsing). `kind` decides how the text is
    read: `code` stripped text, `flag` Y/N -> bool, `int`/`float` right-aligned zero-padded
    numbers, `date` YYYYMMDD, `text` stripped free text.
    """

    kis_name: str
    width: int
    offset: int
    column: str | None
    kind: Kind

    @property
    def end(self) -> int:
        return self.offset + self.width


@dataclass(frozen=True)
class MasterLayout:
    market: str
    file_name: str  # the .mst inside the zip
    tail_width: int
    fields: tuple[Field, ...]

    @property
    def zip_name(self) -> str:
        return f"{self.file_name}.zip"

    def field(self, column: str) -> Field | None:
        for f in self.fields:
            if f.column == column:
                return f
        return None


def _layout(
    market: str, tail_width: int, rows: list[tuple[str, int, int, str | None, Kind]]
) -> MasterLayout:
    fields = tuple(Field(*row) for row in rows)
    # The offsets are copied from SPEC §14.2 rather than derived, so this check catches a
    # mistyped width or offset at import time instead of as silently shifted columns.
    position = 0
    for f in fields:
        if f.offset != position:
            raise AssertionError(f"{market} tail: {f.kis_name} at {f.offset}, expected {position}")
        position = f.end
    if position != tail_width:
        raise AssertionError(f"{market} tail is {position} characters, expected {tail_width}")
    return MasterLayout(market, f"{market.lower()}_code.mst", tail_width, fields)


# Fields that read the same in all three markets, by KIS name -> (column, kind).
_COMMON: dict[str, tuple[str | None, Kind]] = {
    "scrt_grp_cls_code": ("security_group", "code"),
    "avls_scal_cls_code": ("size_class", "code"),
    "bstp_larg_div_code": ("sector_large", "code"),
    "bstp_medm_div_code": ("sector_mid", "code"),
    "bstp_smal_div_code": ("sector_small", "code"),
    "mnin_cls_code_yn": ("is_manufacturing", "flag"),
    "vntr_issu_yn": ("is_venture", "flag"),
    "low_current_yn": ("is_low_liquidity", "flag"),
    "sprn_strr_nmix_issu_yn": ("in_governance_index", "flag"),
    "kospi200_apnt_cls_code": ("kospi200_sector", "code"),
    "kospi100_issu_yn": ("in_kospi100", "flag"),
    "kospi50_issu_yn": ("in_kospi50", "flag"),
    "krx_issu_yn": ("in_krx", "flag"),
    "etp_prod_cls_code": ("etp_type", "code"),
    "elw_pblc_yn": ("has_elw", "flag"),
    "krx100_issu_yn": ("in_krx100", "flag"),
    "krx_car_yn": ("in_krx_autos", "flag"),
    "krx_smcn_yn": ("in_krx_semiconductors", "flag"),
    "krx_bio_yn": ("in_krx_bio", "flag"),
    "krx_bank_yn": ("in_krx_banks", "flag"),
    "etpr_undt_objt_co_yn": ("is_spac", "flag"),
    "krx_enrg_chms_yn": ("in_krx_energy_chemicals", "flag"),
    "krx_stel_yn": ("in_krx_steel", "flag"),
    "short_over_cls_code": ("short_term_overheat", "code"),
    "krx_medi_cmnc_yn": ("in_krx_media_telecom", "flag"),
    "krx_cnst_yn": ("in_krx_construction", "flag"),
    # Deleted by KRX on 2015-12-18; the position is kept so the later fields stay aligned.
    "krx_fnnc_svc_yn": (None, "code"),
    "invt_alrm_yn": ("is_investment_caution", "flag"),
    "krx_scrt_yn": ("in_krx_securities", "flag"),
    "krx_ship_yn": ("in_krx_shipbuilding", "flag"),
    "krx_insu_yn": ("in_krx_insurance", "flag"),
    "krx_trnp_yn": ("in_krx_transport", "flag"),
    "sri_nmix_yn": ("in_sri_index", "flag"),
    "ksq150_nmix_yn": ("in_kosdaq150", "flag"),
    "stck_sdpr": ("base_price", "int"),
    "frml_mrkt_deal_qty_unit": ("lot_size", "int"),
    "ovtm_mrkt_deal_qty_unit": ("after_hours_lot_size", "int"),
    "trht_yn": ("is_halted", "flag"),
    "sltr_yn": ("is_liquidation_trading", "flag"),
    "mang_issu_yn": ("is_administrative", "flag"),
    "mrkt_alrm_cls_code": ("market_warning", "code"),
    "mrkt_alrm_risk_adnt_yn": ("is_risk_pre_notice", "flag"),
    "insn_pbnt_yn": ("is_unfaithful_disclosure", "flag"),
    "byps_lstn_yn": ("is_backdoor_listing", "flag"),
    "flng_cls_code": ("ex_rights_code", "code"),
    "fcam_mod_cls_code": ("par_change_code", "code"),
    "icic_cls_code": ("capital_increase_code", "code"),
    "marg_rate": ("margin_rate", "int"),
    "crdt_able": ("is_credit_allowed", "flag"),
    "crdt_days": ("credit_days", "int"),
    "prdy_vol": ("prev_volume", "int"),
    "stck_fcam": ("par_value", "int"),
    "stck_lstn_date": ("list_date", "date"),
    "lstn_stcn": ("listed_shares", "int"),
    "cpfn": ("capital", "int"),
    "stac_month": ("fiscal_month", "int"),
    "po_prc": ("ipo_price", "int"),
    "prst_cls_code": ("preferred_class", "code"),
    "ssts_hot_yn": ("is_short_sale_overheat", "flag"),
    "stange_runup_yn": ("is_abnormal_surge", "flag"),
    "krx300_issu_yn": ("in_krx300", "flag"),
    "kospi_issu_yn": ("in_kospi", "flag"),
    # The financial summary fields are kept in the units KIS publishes them in: SPEC §14.2
    # does not state those units, so converting them would be a guess.
    "sale_account": ("revenue", "int"),
    "bsop_prfi": ("operating_profit", "int"),
    "op_prfi": ("ordinary_profit", "int"),
    "thtr_ntin": ("net_income", "int"),
    "roe": ("roe", "float"),
    # "Base year-month" in an 8-character slot whose exact form is undocumented: kept as text.
    "base_date": ("financials_base", "text"),
    "prdy_avls_scal": ("market_cap", "int"),
    "grp_code": ("business_group", "code"),
    "co_crdt_limt_over_yn": ("is_credit_limit_exceeded", "flag"),
    "secu_lend_able_yn": ("is_collateral_loan_allowed", "flag"),
    "stln_able_yn": ("is_stock_loan_allowed", "flag"),
}


def _rows(spec: list[tuple[str, int, int]]) -> list[tuple[str, int, int, str | None, Kind]]:
    return [(name, width, offset, *_COMMON[name]) for name, width, offset in spec]


# SPEC §14.2, KOSPI tail: (KIS name, width, offset in tail), in file order.
KOSPI = _layout(
    "KOSPI",
    227,
    _rows(
        [
            ("scrt_grp_cls_code", 2, 0),
            ("avls_scal_cls_code", 1, 2),
            ("bstp_larg_div_code", 4, 3),
            ("bstp_medm_div_code", 4, 7),
            ("bstp_smal_div_code", 4, 11),
            ("mnin_cls_code_yn", 1, 15),
            ("low_current_yn", 1, 16),
            ("sprn_strr_nmix_issu_yn", 1, 17),
            ("kospi200_apnt_cls_code", 1, 18),
            ("kospi100_issu_yn", 1, 19),
            ("kospi50_issu_yn", 1, 20),
            ("krx_issu_yn", 1, 21),
            ("etp_prod_cls_code", 1, 22),
            ("elw_pblc_yn", 1, 23),
            ("krx100_issu_yn", 1, 24),
            ("krx_car_yn", 1, 25),
            ("krx_smcn_yn", 1, 26),
            ("krx_bio_yn", 1, 27),
            ("krx_bank_yn", 1, 28),
            ("etpr_undt_objt_co_yn", 1, 29),
            ("krx_enrg_chms_yn", 1, 30),
            ("krx_stel_yn", 1, 31),
            ("short_over_cls_code", 1, 32),
            ("krx_medi_cmnc_yn", 1, 33),
            ("krx_cnst_yn", 1, 34),
            ("krx_fnnc_svc_yn", 1, 35),
            ("krx_scrt_yn", 1, 36),
            ("krx_ship_yn", 1, 37),
            ("krx_insu_yn", 1, 38),
            ("krx_trnp_yn", 1, 39),
            ("sri_nmix_yn", 1, 40),
            ("stck_sdpr", 9, 41),
            ("frml_mrkt_deal_qty_unit", 5, 50),
            ("ovtm_mrkt_deal_qty_unit", 5, 55),
            ("trht_yn", 1, 60),
            ("sltr_yn", 1, 61),
            ("mang_issu_yn", 1, 62),
            ("mrkt_alrm_cls_code", 2, 63),
            ("mrkt_alrm_risk_adnt_yn", 1, 65),
            ("insn_pbnt_yn", 1, 66),
            ("byps_lstn_yn", 1, 67),
            ("flng_cls_code", 2, 68),
            ("fcam_mod_cls_code", 2, 70),
            ("icic_cls_code", 2, 72),
            ("marg_rate", 3, 74),
            ("crdt_able", 1, 77),
            ("crdt_days", 3, 78),
            ("prdy_vol", 12, 81),
            ("stck_fcam", 12, 93),
            ("stck_lstn_date", 8, 105),
            ("lstn_stcn", 15, 113),
            ("cpfn", 21, 128),
            ("stac_month", 2, 149),
            ("po_prc", 7, 151),
            ("prst_cls_code", 1, 158),
            ("ssts_hot_yn", 1, 159),
            ("stange_runup_yn", 1, 160),
            ("krx300_issu_yn", 1, 161),
            ("kospi_issu_yn", 1, 162),
            ("sale_account", 9, 163),
            ("bsop_prfi", 9, 172),
            ("op_prfi", 9, 181),
            ("thtr_ntin", 5, 190),
            ("roe", 9, 195),
            ("base_date", 8, 204),
            ("prdy_avls_scal", 9, 212),
            ("grp_code", 3, 221),
            ("co_crdt_limt_over_yn", 1, 224),
            ("secu_lend_able_yn", 1, 225),
            ("stln_able_yn", 1, 226),
        ]
    ),
)

# SPEC §14.2, KOSDAQ tail.
KOSDAQ = _layout(
    "KOSDAQ",
    221,
    _rows(
        [
            ("scrt_grp_cls_code", 2, 0),
            ("avls_scal_cls_code", 1, 2),
            ("bstp_larg_div_code", 4, 3),
            ("bstp_medm_div_code", 4, 7),
            ("bstp_smal_div_code", 4, 11),
            ("vntr_issu_yn", 1, 15),
            ("low_current_yn", 1, 16),
            ("krx_issu_yn", 1, 17),
            ("etp_prod_cls_code", 1, 18),
            ("krx100_issu_yn", 1, 19),
            ("krx_car_yn", 1, 20),
            ("krx_smcn_yn", 1, 21),
            ("krx_bio_yn", 1, 22),
            ("krx_bank_yn", 1, 23),
            ("etpr_undt_objt_co_yn", 1, 24),
            ("krx_enrg_chms_yn", 1, 25),
            ("krx_stel_yn", 1, 26),
            ("short_over_cls_code", 1, 27),
            ("krx_medi_cmnc_yn", 1, 28),
            ("krx_cnst_yn", 1, 29),
            ("invt_alrm_yn", 1, 30),
            ("krx_scrt_yn", 1, 31),
            ("krx_ship_yn", 1, 32),
            ("krx_insu_yn", 1, 33),
            ("krx_trnp_yn", 1, 34),
            ("ksq150_nmix_yn", 1, 35),
            ("stck_sdpr", 9, 36),
            ("frml_mrkt_deal_qty_unit", 5, 45),
            ("ovtm_mrkt_deal_qty_unit", 5, 50),
            ("trht_yn", 1, 55),
            ("sltr_yn", 1, 56),
            ("mang_issu_yn", 1, 57),
            ("mrkt_alrm_cls_code", 2, 58),
            ("mrkt_alrm_risk_adnt_yn", 1, 60),
            ("insn_pbnt_yn", 1, 61),
            ("byps_lstn_yn", 1, 62),
            ("flng_cls_code", 2, 63),
            ("fcam_mod_cls_code", 2, 65),
            ("icic_cls_code", 2, 67),
            ("marg_rate", 3, 69),
            ("crdt_able", 1, 72),
            ("crdt_days", 3, 73),
            ("prdy_vol", 12, 76),
            ("stck_fcam", 12, 88),
            ("stck_lstn_date", 8, 100),
            ("lstn_stcn", 15, 108),
            ("cpfn", 21, 123),
            ("stac_month", 2, 144),
            ("po_prc", 7, 146),
            ("prst_cls_code", 1, 153),
            ("ssts_hot_yn", 1, 154),
            ("stange_runup_yn", 1, 155),
            ("krx300_issu_yn", 1, 156),
            ("sale_account", 9, 157),
            ("bsop_prfi", 9, 166),
            ("op_prfi", 9, 175),
            ("thtr_ntin", 5, 184),
            ("roe", 9, 189),
            ("base_date", 8, 198),
            ("prdy_avls_scal", 9, 206),
            ("grp_code", 3, 215),
            ("co_crdt_limt_over_yn", 1, 218),
            ("secu_lend_able_yn", 1, 219),
            ("stln_able_yn", 1, 220),
        ]
    ),
)

# SPEC §14.2, KONEX tail (no sector codes, index memberships or business group).
KONEX = _layout(
    "KONEX",
    184,
    _rows(
        [
            ("scrt_grp_cls_code", 2, 0),
            ("stck_sdpr", 9, 2),
            ("frml_mrkt_deal_qty_unit", 5, 11),
            ("ovtm_mrkt_deal_qty_unit", 5, 16),
            ("trht_yn", 1, 21),
            ("sltr_yn", 1, 22),
            ("mang_issu_yn", 1, 23),
            ("mrkt_alrm_cls_code", 2, 24),
            ("mrkt_alrm_risk_adnt_yn", 1, 26),
            ("insn_pbnt_yn", 1, 27),
            ("byps_lstn_yn", 1, 28),
            ("flng_cls_code", 2, 29),
            ("fcam_mod_cls_code", 2, 31),
            ("icic_cls_code", 2, 33),
            ("marg_rate", 3, 35),
            ("crdt_able", 1, 38),
            ("crdt_days", 3, 39),
            ("prdy_vol", 12, 42),
            ("stck_fcam", 12, 54),
            ("stck_lstn_date", 8, 66),
            ("lstn_stcn", 15, 74),
            ("cpfn", 21, 89),
            ("stac_month", 2, 110),
            ("po_prc", 7, 112),
            ("prst_cls_code", 1, 119),
            ("ssts_hot_yn", 1, 120),
            ("stange_runup_yn", 1, 121),
            ("krx300_issu_yn", 1, 122),
            ("sale_account", 9, 123),
            ("bsop_prfi", 9, 132),
            ("op_prfi", 9, 141),
            ("thtr_ntin", 5, 150),
            ("roe", 9, 155),
            ("base_date", 8, 164),
            ("prdy_avls_scal", 9, 172),
            ("co_crdt_limt_over_yn", 1, 181),
            ("secu_lend_able_yn", 1, 182),
            ("stln_able_yn", 1, 183),
        ]
    ),
)

LAYOUTS: dict[str, MasterLayout] = {layout.market: layout for layout in (KOSPI, KOSDAQ, KONEX)}


def layout_for(market: str) -> MasterLayout:
    """The layout of one market ("KOSPI", "KOSDAQ" or "KONEX"; case-insensitive)."""
    try:
        return LAYOUTS[market.upper()]
    except KeyError:
        raise ValueError(f"unknown master market {market!r}; expected one of {MARKETS}") from None


# ---- security groups -------------------------------------------------------------------------

# `scrt_grp_cls_code` values that are shares of a company (SPEC §14.2): ST domestic shares,
# FS foreign companies' shares, KN the code KONEX uses for its shares. Everything else (EF ETF,
# EN ETN, RT REIT, MF/SC/IF funds, DR depositary receipts, EW ELW, SW/SR rights, BC/FE ...) is
# not an ordinary stock.
STOCK_GROUPS: frozenset[str] = frozenset({"ST", "FS", "KN"})


# ---- the parsed frame's schema ---------------------------------------------------------------

_KIND_DTYPES: dict[Kind, pl.DataType] = {
    "code": pl.String(),
    "text": pl.String(),
    "flag": pl.Boolean(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "date": pl.Date(),
}


def _master_schema() -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {
        "symbol": pl.String(),
        "standard_code": pl.String(),
        "name": pl.String(),
        "market": pl.String(),
    }
    # One union schema for the three markets (KOSPI order first), so their frames concatenate;
    # a field a market does not publish is null there.
    for layout in (KOSPI, KOSDAQ, KONEX):
        for f in layout.fields:
            if f.column is not None and f.column not in schema:
                schema[f.column] = _KIND_DTYPES[f.kind]
    return schema


MASTER_SCHEMA: Mapping[str, pl.DataType] = _master_schema()


# ---- idxcode.mst (SPEC §14.3) ----------------------------------------------------------------

INDEX_FILE_NAME = "idxcode.mst"
INDEX_DIV_WIDTH = 1  # idx_div: the market digit
INDEX_CODE_WIDTH = 4  # idx_code
INDEX_NAME_WIDTH = 40  # idx_name, in CP949 bytes as the C struct declares it
INDEX_SCHEMA: Mapping[str, pl.DataType] = {
    "index_code": pl.String(),
    "market_div": pl.String(),
    "name": pl.String(),
}
