"""Where each column of the tick tables comes from on the wire (SPEC §15.7).

The tables themselves (schemas, keys, layout: DESIGN §3.4) are the warehouse's
(`warehouse.tables.ticks`, `warehouse.tables.stream`); this module adds what the collector knows:
which TRs fill each table, which source column fills each table column, and which records are
rejects. `ts` comes from BSOP_DATE + time where KIS sends both, the segment's session date with
the frame's time where it sends only a time, and `received_at` where it sends none; a record whose
time is blank or not HHMMSS is rejected, never given `received_at` in its place. A trade refilled
from REST has `tr_id` FHKST01010300, `seq` that of the spooled refill and `record` the trade's
place in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from kis_pipeline.common.clock import KST_NAME
from kis_pipeline.warehouse.tables import TableSpec, ticks
from kis_pipeline.warehouse.tables.stream import STREAM_GAPS as STREAM_GAPS
from kis_pipeline.warehouse.tables.stream import STREAM_REJECTS as STREAM_REJECTS
from kis_pipeline.warehouse.tables.ticks import LEVELS

# STREAM_GAPS and STREAM_REJECTS are named here too: persistence writes them beside the ticks.

# Source field kinds: "int", "float", "str" (blank -> null), "yn" (Y/N -> bool), "ymd"
# (YYYYMMDD -> date), "excd" (the exchange code inside an overseas feed key, DNASAAPL -> NAS).
Field = tuple[str, str]


@dataclass(frozen=True)
class TickTable:
    """One tick table: its warehouse spec and how to fill it from a TR's columns."""

    spec: TableSpec
    tr_ids: tuple[str, ...]
    fields: dict[str, tuple[Field, ...]]  # column -> candidate (source column, kind), first wins
    time_field: str | None  # HHMMSS column
    date_field: str | None  # YYYYMMDD column
    required: tuple[str, ...]  # columns a record must have to be a row (else a reject)
    positive: tuple[str, ...] = ()  # columns that, when present, must be > 0 (else a reject)
    non_negative: tuple[str, ...] = ()  # ... must be >= 0 (0 = no quote on the order book)
    # Dated by its own calendar (an overseas exchange's trades run past midnight in Korea), so
    # not held to the domestic session's date.
    own_calendar: bool = False

    @property
    def name(self) -> str:
        return self.spec.name


TRADE_TICKS = TickTable(
    spec=ticks.TRADE_TICKS,
    tr_ids=("H0STCNT0", "H0UNCNT0", "H0NXCNT0"),
    fields={
        "symbol": (("MKSC_SHRN_ISCD", "str"),),
        "price": (("STCK_PRPR", "int"),),
        "volume": (("CNTG_VOL", "int"),),
        "cum_volume": (("ACML_VOL", "int"),),
        "cum_value": (("ACML_TR_PBMN", "int"),),
        "change": (("PRDY_VRSS", "int"),),
        "change_sign": (("PRDY_VRSS_SIGN", "str"),),
        "change_rate": (("PRDY_CTRT", "float"),),
        "open": (("STCK_OPRC", "int"),),
        "high": (("STCK_HGPR", "int"),),
        "low": (("STCK_LWPR", "int"),),
        "vwap": (("WGHN_AVRG_STCK_PRC", "float"),),
        "ask_price_1": (("ASKP1", "int"),),
        "bid_price_1": (("BIDP1", "int"),),
        "ask_volume_1": (("ASKP_RSQN1", "int"),),
        "bid_volume_1": (("BIDP_RSQN1", "int"),),
        "total_ask_volume": (("TOTAL_ASKP_RSQN", "int"),),
        "total_bid_volume": (("TOTAL_BIDP_RSQN", "int"),),
        # Column 21 is CCLD_DVSN on H0STCNT0 and CNTG_CLS_CODE on the NXT/combined TRs.
        "side": (("CCLD_DVSN", "str"), ("CNTG_CLS_CODE", "str")),
        "trade_strength": (("CTTR", "float"),),
        "market_phase": (("NEW_MKOP_CLS_CODE", "str"),),
        "hour_class": (("HOUR_CLS_CODE", "str"),),
        "halted": (("TRHT_YN", "yn"),),
        "vi_base_price": (("VI_STND_PRC", "int"),),
    },
    time_field="STCK_CNTG_HOUR",
    date_field="BSOP_DATE",
    required=("symbol", "price", "volume"),
    positive=("price",),
    non_negative=(
        "volume",
        "cum_volume",
        "cum_value",
        "open",
        "high",
        "low",
        "ask_price_1",
        "bid_price_1",
        "ask_volume_1",
        "bid_volume_1",
        "total_ask_volume",
        "total_bid_volume",
        "vi_base_price",
    ),
)

ORDERBOOK_TICKS = TickTable(
    spec=ticks.ORDERBOOK_TICKS,
    tr_ids=("H0STASP0", "H0UNASP0", "H0NXASP0"),
    fields={
        "symbol": (("MKSC_SHRN_ISCD", "str"),),
        "hour_class": (("HOUR_CLS_CODE", "str"),),
        **{f"ask_price_{i}": ((f"ASKP{i}", "int"),) for i in LEVELS},
        **{f"ask_volume_{i}": ((f"ASKP_RSQN{i}", "int"),) for i in LEVELS},
        **{f"bid_price_{i}": ((f"BIDP{i}", "int"),) for i in LEVELS},
        **{f"bid_volume_{i}": ((f"BIDP_RSQN{i}", "int"),) for i in LEVELS},
        "total_ask_volume": (("TOTAL_ASKP_RSQN", "int"),),
        "total_bid_volume": (("TOTAL_BIDP_RSQN", "int"),),
        "expected_price": (("ANTC_CNPR", "int"),),
        "expected_volume": (("ANTC_CNQN", "int"),),
        "cum_volume": (("ACML_VOL", "int"),),
    },
    time_field="BSOP_HOUR",
    date_field=None,
    required=("symbol",),
    non_negative=(
        *(
            f"{side}_{kind}_{i}"
            for side in ("ask", "bid")
            for kind in ("price", "volume")
            for i in LEVELS
        ),
        "total_ask_volume",
        "total_bid_volume",
        "expected_price",
        "expected_volume",
        "cum_volume",
    ),
)

EXPECTED_TICKS = TickTable(
    spec=ticks.EXPECTED_TICKS,
    tr_ids=("H0STANC0", "H0UNANC0", "H0NXANC0"),
    fields={
        "symbol": (("MKSC_SHRN_ISCD", "str"),),
        "expected_price": (("STCK_PRPR", "int"),),
        "expected_volume": (("CNTG_VOL", "int"),),
        "cum_volume": (("ACML_VOL", "int"),),
        "change": (("PRDY_VRSS", "int"),),
        "change_sign": (("PRDY_VRSS_SIGN", "str"),),
        "change_rate": (("PRDY_CTRT", "float"),),
        "ask_price_1": (("ASKP1", "int"),),
        "bid_price_1": (("BIDP1", "int"),),
        "ask_volume_1": (("ASKP_RSQN1", "int"),),
        "bid_volume_1": (("BIDP_RSQN1", "int"),),
        "market_phase": (("NEW_MKOP_CLS_CODE", "str"),),
        "hour_class": (("HOUR_CLS_CODE", "str"),),
    },
    time_field="STCK_CNTG_HOUR",
    date_field="BSOP_DATE",
    required=("symbol",),
    non_negative=(
        "expected_price",
        "expected_volume",
        "cum_volume",
        "ask_price_1",
        "bid_price_1",
        "ask_volume_1",
        "bid_volume_1",
    ),
)

MARKET_STATUS = TickTable(
    spec=ticks.MARKET_STATUS,
    tr_ids=("H0STMKO0", "H0UNMKO0", "H0NXMKO0"),
    fields={
        "symbol": (("MKSC_SHRN_ISCD", "str"),),
        "halted": (("TRHT_YN", "yn"),),
        "halt_reason": (("TR_SUSP_REAS_CNTT", "str"),),
        "market_op_code": (("MKOP_CLS_CODE", "str"),),
        "expected_market_op_code": (("ANTC_MKOP_CLS_CODE", "str"),),
        "market_treatment_code": (("MRKT_TRTM_CLS_CODE", "str"),),
        "allocation_code": (("DIVI_APP_CLS_CODE", "str"),),
        "status_code": (("ISCD_STAT_CLS_CODE", "str"),),
        "vi_code": (("VI_CLS_CODE", "str"),),
        "after_hours_vi_code": (("OVTM_VI_CLS_CODE", "str"),),
        "exchange_code": (("EXCH_CLS_CODE", "str"),),
    },
    time_field=None,
    date_field=None,
    required=("symbol",),
)


PROGRAM_TICKS = TickTable(
    spec=ticks.PROGRAM_TICKS,
    tr_ids=("H0STPGM0", "H0UNPGM0", "H0NXPGM0"),
    fields={
        "symbol": (("MKSC_SHRN_ISCD", "str"),),
        "sell_volume": (("SELN_CNQN", "int"),),
        "sell_value": (("SELN_TR_PBMN", "int"),),
        "buy_volume": (("SHNU_CNQN", "int"),),
        "buy_value": (("SHNU_TR_PBMN", "int"),),
        "net_volume": (("NTBY_CNQN", "int"),),
        "net_value": (("NTBY_TR_PBMN", "int"),),
        "ask_quantity": (("SELN_RSQN", "int"),),
        "bid_quantity": (("SHNU_RSQN", "int"),),
        "net_bid_quantity": (("WHOL_NTBY_QTY", "int"),),
    },
    time_field="STCK_CNTG_HOUR",
    date_field=None,
    required=("symbol",),
    non_negative=("sell_volume", "sell_value", "buy_volume", "buy_value"),
)


def from_us(value: pl.Expr | pl.Series) -> pl.Expr | pl.Series:
    """Epoch microseconds as KST timestamps (how `ts` and `received_at` are stored)."""
    return value.cast(pl.Datetime("us")).dt.replace_time_zone("UTC").dt.convert_time_zone(KST_NAME)


OVERSEAS_TICKS = TickTable(
    spec=ticks.OVERSEAS_TICKS,
    tr_ids=("HDFSCNT0",),
    fields={
        "symbol": (("SYMB", "str"),),
        "venue": (("RSYM", "excd"),),
        "price": (("LAST", "float"),),
        "volume": (("EVOL", "int"),),
        "cum_volume": (("TVOL", "int"),),
        "cum_value": (("TAMT", "float"),),
        "open": (("OPEN", "float"),),
        "high": (("HIGH", "float"),),
        "low": (("LOW", "float"),),
        "change": (("DIFF", "float"),),
        "change_sign": (("SIGN", "str"),),
        "change_rate": (("RATE", "float"),),
        "bid_price": (("PBID", "float"),),
        "ask_price": (("PASK", "float"),),
        "bid_volume": (("VBID", "int"),),
        "ask_volume": (("VASK", "int"),),
        "sold_volume": (("BIVL", "int"),),
        "bought_volume": (("ASVL", "int"),),
        "trade_strength": (("STRN", "float"),),
        "session": (("MTYP", "str"),),
        "local_date": (("TYMD", "ymd"),),
        "local_time": (("XHMS", "str"),),
    },
    time_field="KHMS",
    date_field="KYMD",
    required=("symbol", "venue", "price", "volume"),
    positive=("price",),
    non_negative=("volume", "cum_volume", "cum_value", "bid_volume", "ask_volume"),
    own_calendar=True,
)


TICK_TABLES: tuple[TickTable, ...] = (
    TRADE_TICKS,
    ORDERBOOK_TICKS,
    EXPECTED_TICKS,
    MARKET_STATUS,
    PROGRAM_TICKS,
    OVERSEAS_TICKS,
)
TABLE_BY_TR: dict[str, TickTable] = {tr: table for table in TICK_TABLES for tr in table.tr_ids}

TICK_TABLE_NAMES: tuple[str, ...] = tuple(t.name for t in TICK_TABLES)
