"""Column layouts of the real-time TRs (SPEC §15.7), in wire order, plus their older widths.

KIS appends columns to a TR over time and never reorders them, so a record shorter than the
current layout is read as a known older layout (missing trailing columns), and a longer one as a
newer layout whose extra trailing columns we do not know yet.
"""

from __future__ import annotations

_TRADE_COMMON: tuple[str, ...] = (
    "MKSC_SHRN_ISCD",
    "STCK_CNTG_HOUR",
    "STCK_PRPR",
    "PRDY_VRSS_SIGN",
    "PRDY_VRSS",
    "PRDY_CTRT",
    "WGHN_AVRG_STCK_PRC",
    "STCK_OPRC",
    "STCK_HGPR",
    "STCK_LWPR",
    "ASKP1",
    "BIDP1",
    "CNTG_VOL",
    "ACML_VOL",
    "ACML_TR_PBMN",
    "SELN_CNTG_CSNU",
    "SHNU_CNTG_CSNU",
    "NTBY_CNTG_CSNU",
    "CTTR",
    "SELN_CNTG_SMTN",
    "SHNU_CNTG_SMTN",
)

_TRADE_TAIL: tuple[str, ...] = (
    "SHNU_RATE",
    "PRDY_VOL_VRSS_ACML_VOL_RATE",
    "OPRC_HOUR",
    "OPRC_VRSS_PRPR_SIGN",
    "OPRC_VRSS_PRPR",
    "HGPR_HOUR",
    "HGPR_VRSS_PRPR_SIGN",
    "HGPR_VRSS_PRPR",
    "LWPR_HOUR",
    "LWPR_VRSS_PRPR_SIGN",
    "LWPR_VRSS_PRPR",
    "BSOP_DATE",
    "NEW_MKOP_CLS_CODE",
    "TRHT_YN",
    "ASKP_RSQN1",
    "BIDP_RSQN1",
    "TOTAL_ASKP_RSQN",
    "TOTAL_BIDP_RSQN",
    "VOL_TNRT",
    "PRDY_SMNS_HOUR_ACML_VOL",
    "PRDY_SMNS_HOUR_ACML_VOL_RATE",
    "HOUR_CLS_CODE",
    "MRKT_TRTM_CLS_CODE",
)

# §15.7.1 KRX trade ticks: 46 columns (col 21 is CCLD_DVSN here, CNTG_CLS_CODE elsewhere).
H0STCNT0: tuple[str, ...] = (*_TRADE_COMMON, "CCLD_DVSN", *_TRADE_TAIL, "VI_STND_PRC")

_LEVELS = range(1, 11)

# §15.7.2 KRX 10-level order book: 59 columns.
H0STASP0: tuple[str, ...] = (
    "MKSC_SHRN_ISCD",
    "BSOP_HOUR",
    "HOUR_CLS_CODE",
    *(f"ASKP{i}" for i in _LEVELS),
    *(f"BIDP{i}" for i in _LEVELS),
    *(f"ASKP_RSQN{i}" for i in _LEVELS),
    *(f"BIDP_RSQN{i}" for i in _LEVELS),
    "TOTAL_ASKP_RSQN",
    "TOTAL_BIDP_RSQN",
    "OVTM_TOTAL_ASKP_RSQN",
    "OVTM_TOTAL_BIDP_RSQN",
    "ANTC_CNPR",
    "ANTC_CNQN",
    "ANTC_VOL",
    "ANTC_CNTG_VRSS",
    "ANTC_CNTG_VRSS_SIGN",
    "ANTC_CNTG_PRDY_CTRT",
    "ACML_VOL",
    "TOTAL_ASKP_RSQN_ICDC",
    "TOTAL_BIDP_RSQN_ICDC",
    "OVTM_TOTAL_ASKP_ICDC",
    "OVTM_TOTAL_BIDP_ICDC",
    "STCK_DEAL_CLS_CODE",
)

# §15.7.3 KRX expected execution (auction phases): 45 columns, no VI_STND_PRC.
H0STANC0: tuple[str, ...] = (*_TRADE_COMMON, "CNTG_CLS_CODE", *_TRADE_TAIL)

# §15.7.4 KRX+NXT combined / NXT-only trade ticks: the H0STCNT0 layout.
H0UNCNT0: tuple[str, ...] = (*_TRADE_COMMON, "CNTG_CLS_CODE", *_TRADE_TAIL, "VI_STND_PRC")

# §15.6 Nextrade / combined order books: the KRX book and the KRX and NXT mid-price fields.
H0UNASP0: tuple[str, ...] = (
    *H0STASP0,
    "KMID_PRC",
    "KMID_TOTAL_RSQN",
    "KMID_CLS_CODE",
    "NMID_PRC",
    "NMID_TOTAL_RSQN",
    "NMID_CLS_CODE",
)

# §15.6 Nextrade / combined expected executions: the KRX layout and VI_STND_PRC.
H0UNANC0: tuple[str, ...] = (*H0STANC0, "VI_STND_PRC")

# §15.7.5 market operation / VI status: 11 columns; the portal example still has 10.
H0STMKO0: tuple[str, ...] = (
    "MKSC_SHRN_ISCD",
    "TRHT_YN",
    "TR_SUSP_REAS_CNTT",
    "MKOP_CLS_CODE",
    "ANTC_MKOP_CLS_CODE",
    "MRKT_TRTM_CLS_CODE",
    "DIVI_APP_CLS_CODE",
    "ISCD_STAT_CLS_CODE",
    "VI_CLS_CODE",
    "OVTM_VI_CLS_CODE",
    "EXCH_CLS_CODE",
)

# §15.7.6 program trading per issue: 11 columns.
H0STPGM0: tuple[str, ...] = (
    "MKSC_SHRN_ISCD",
    "STCK_CNTG_HOUR",
    "SELN_CNQN",
    "SELN_TR_PBMN",
    "SHNU_CNQN",
    "SHNU_TR_PBMN",
    "NTBY_CNQN",
    "NTBY_TR_PBMN",
    "SELN_RSQN",
    "SHNU_RSQN",
    "WHOL_NTBY_QTY",
)

# §15.7.7 domestic index ticks: 30 columns (KIS spells these in lower case).
H0UPCNT0: tuple[str, ...] = (
    "bstp_cls_code",
    "bsop_hour",
    "prpr_nmix",
    "prdy_vrss_sign",
    "bstp_nmix_prdy_vrss",
    "acml_vol",
    "acml_tr_pbmn",
    "pcas_vol",
    "pcas_tr_pbmn",
    "prdy_ctrt",
    "oprc_nmix",
    "nmix_hgpr",
    "nmix_lwpr",
    "oprc_vrss_nmix_prpr",
    "oprc_vrss_nmix_sign",
    "hgpr_vrss_nmix_prpr",
    "hgpr_vrss_nmix_sign",
    "lwpr_vrss_nmix_prpr",
    "lwpr_vrss_nmix_sign",
    "prdy_clpr_vrss_oprc_rate",
    "prdy_clpr_vrss_hgpr_rate",
    "prdy_clpr_vrss_lwpr_rate",
    "uplm_issu_cnt",
    "ascn_issu_cnt",
    "stnr_issu_cnt",
    "down_issu_cnt",
    "lslm_issu_cnt",
    "qtqt_ascn_issu_cnt",
    "qtqt_down_issu_cnt",
    "tick_vrss",
)

# §15.7.9 overseas delayed trades: 26 columns, the echoed feed key (D/R + exchange + ticker)
# first (the newer official sample omits it and reads every column one place off).
HDFSCNT0: tuple[str, ...] = (
    "RSYM",
    "SYMB",
    "ZDIV",
    "TYMD",
    "XYMD",
    "XHMS",
    "KYMD",
    "KHMS",
    "OPEN",
    "HIGH",
    "LOW",
    "LAST",
    "SIGN",
    "DIFF",
    "RATE",
    "PBID",
    "PASK",
    "VBID",
    "VASK",
    "EVOL",
    "TVOL",
    "TAMT",
    "BIVL",
    "ASVL",
    "STRN",
    "MTYP",
)

COLUMNS: dict[str, tuple[str, ...]] = {
    "H0STCNT0": H0STCNT0,
    "H0NXCNT0": H0UNCNT0,
    "H0UNCNT0": H0UNCNT0,
    "H0STASP0": H0STASP0,
    "H0NXASP0": H0UNASP0,
    "H0UNASP0": H0UNASP0,
    "H0STANC0": H0STANC0,
    "H0NXANC0": H0UNANC0,
    "H0UNANC0": H0UNANC0,
    "H0STMKO0": H0STMKO0,
    "H0NXMKO0": H0STMKO0,
    "H0UNMKO0": H0STMKO0,
    "H0STPGM0": H0STPGM0,
    "H0NXPGM0": H0STPGM0,
    "H0UNPGM0": H0STPGM0,
    "H0UPCNT0": H0UPCNT0,
    "HDFSCNT0": HDFSCNT0,
}

# Record widths KIS has sent before the current layout (SPEC §15.8, §18.19): H0STCNT0 gained
# VI_STND_PRC at its end, H0STMKO0 gained EXCH_CLS_CODE at its end.
OLDER_WIDTHS: dict[str, tuple[int, ...]] = {
    "H0STCNT0": (45,),
    "H0NXCNT0": (45,),
    "H0UNCNT0": (45,),
    "H0STMKO0": (10,),
    "H0NXMKO0": (10,),
    "H0UNMKO0": (10,),
}


# Every real-time stock TR exists per venue (SPEC §15.6): KRX (H0ST...), Nextrade (H0NX...) and
# the two combined (H0UN...), named as KIS_VENUE names them.
VENUE_PREFIXES: dict[str, str] = {"KRX": "H0ST", "NXT": "H0NX", "KRX+NXT": "H0UN"}
TRADE_TRS: tuple[str, ...] = tuple(f"{prefix}CNT0" for prefix in VENUE_PREFIXES.values())


def venue_of_tr(tr_id: str) -> str | None:
    """The venue a stock TR streams (`VENUE_PREFIXES`), or None for another TR."""
    return next((v for v, prefix in VENUE_PREFIXES.items() if tr_id.startswith(prefix)), None)


def tr_on_venue(tr_id: str, venue: str) -> str:
    """The KRX stock TR `tr_id` as `venue` streams it (H0STCNT0 -> H0NXCNT0 on NXT)."""
    prefix = VENUE_PREFIXES["KRX"]
    if not tr_id.startswith(prefix):
        return tr_id
    return VENUE_PREFIXES[venue] + tr_id[len(prefix) :]


def columns_for(tr_id: str) -> tuple[str, ...] | None:
    """The current column names of a TR, or None for a TR this package does not know."""
    return COLUMNS.get(tr_id)
