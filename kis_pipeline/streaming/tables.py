"""The tick tables (DESIGN §3.4) and where each column comes from on the wire (SPEC §15.7).

Importing this module registers the tables with the warehouse. Every tick table is
partitioned by `date` (the exchange-local trading date) and written one piece per spool segment,
so each row carries `segment_id`, `seq` (the frame's sequence number in that collector run) and
`record` (its position in a multi-record frame): (segment_id, seq, record) is unique, and a rerun
of a segment replaces exactly its own rows.

`ts` is the frame's own date and time where KIS sends both (trades, expected executions:
BSOP_DATE + time), the segment's session date with the frame's time where it sends only a time
(order book), and `received_at` where it sends no time at all (market status, by design). A
record whose time is blank or not HHMMSS is rejected, never given `received_at` in its place.
Prices are KRW integers, volumes shares, values KRW. `stream_rejects` keeps every frame or record
that could not be parsed or holds an impossible value, raw, with the reason: nothing the
collector spooled is dropped silently.

`stream_gaps` has one row per hole in the stream (gaps.py), and `trade_ticks.source` says where a
trade came from: 'websocket', or 'rest' for one the WebSocket lost in a hole and REST refilled
(`tr_id` FHKST01010300; REST gives time, price, change, volume and strength only, so the other
columns are null, and `seq` is that of the spooled refill, `record` the trade's place in it).
Files written before the column existed read it as null, which means 'websocket'.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from kis_pipeline.common.clock import KST_NAME
from kis_pipeline.warehouse.tables import Layout, TableSpec, register_table

_TS = pl.Datetime("us", KST_NAME)
_I = pl.Int64
_F = pl.Float64
_S = pl.String
_B = pl.Boolean
LEVELS = range(1, 11)

# Source field kinds: "int", "float", "str" (blank -> null), "yn" (Y/N -> bool).
Field = tuple[str, str]

# A day of ticks is large (millions of rows): one folder per day, merged by maintenance into
# few files sorted by (symbol, ts).
DAILY_FILES = Layout(("date",))

_HEAD = {"date": pl.Date, "ts": _TS, "received_at": _TS, "symbol": _S}
_TAIL = {"tr_id": _S, "segment_id": _S, "seq": _I, "record": pl.Int32}


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

    @property
    def name(self) -> str:
        return self.spec.name


def _spec(name: str, columns: dict[str, pl.DataType], description: str) -> TableSpec:
    return TableSpec(
        name,
        pl.Schema({**_HEAD, **columns, **_TAIL}),
        "date",
        "date",
        ("segment_id", "seq", "record"),
        ("symbol", "ts"),
        description,
        layout=DAILY_FILES,
    )


TRADE_TICKS = TickTable(
    spec=_spec(
        "trade_ticks",
        {
            "price": _I,
            "volume": _I,
            "cum_volume": _I,
            "cum_value": _I,
            "change": _I,
            "change_sign": _S,
            "change_rate": _F,
            "open": _I,
            "high": _I,
            "low": _I,
            "vwap": _F,
            "ask_price_1": _I,
            "bid_price_1": _I,
            "ask_volume_1": _I,
            "bid_volume_1": _I,
            "total_ask_volume": _I,
            "total_bid_volume": _I,
            "side": _S,
            "trade_strength": _F,
            "market_phase": _S,
            "hour_class": _S,
            "halted": _B,
            "vi_base_price": _I,
            "source": _S,
        },
        "One row per executed trade tick (H0STCNT0): price, volume, cumulative volume and value; "
        "source 'rest' marks a trade the WebSocket lost, refilled from REST (inquire-ccnl).",
    ),
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
    spec=_spec(
        "orderbook_ticks",
        {
            "hour_class": _S,
            **{f"ask_price_{i}": _I for i in LEVELS},
            **{f"ask_volume_{i}": _I for i in LEVELS},
            **{f"bid_price_{i}": _I for i in LEVELS},
            **{f"bid_volume_{i}": _I for i in LEVELS},
            "total_ask_volume": _I,
            "total_bid_volume": _I,
            "expected_price": _I,
            "expected_volume": _I,
            "cum_volume": _I,
        },
        "One row per 10-level order book update (H0STASP0); 0 = no quote at that level.",
    ),
    tr_ids=("H0STASP0",),
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
    spec=_spec(
        "expected_ticks",
        {
            "expected_price": _I,
            "expected_volume": _I,
            "cum_volume": _I,
            "change": _I,
            "change_sign": _S,
            "change_rate": _F,
            "ask_price_1": _I,
            "bid_price_1": _I,
            "ask_volume_1": _I,
            "bid_volume_1": _I,
            "market_phase": _S,
            "hour_class": _S,
        },
        "One row per expected-execution update during auctions and VI (H0STANC0).",
    ),
    tr_ids=("H0STANC0",),
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
    spec=_spec(
        "market_status",
        {
            "halted": _B,
            "halt_reason": _S,
            "market_op_code": _S,
            "expected_market_op_code": _S,
            "market_treatment_code": _S,
            "allocation_code": _S,
            "status_code": _S,
            "vi_code": _S,
            "after_hours_vi_code": _S,
            "exchange_code": _S,
        },
        "One row per market-operation / VI status notice (H0STMKO0); ts = received_at.",
    ),
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


def from_us(value: pl.Expr | pl.Series) -> pl.Expr | pl.Series:
    """Epoch microseconds as KST timestamps (how `ts` and `received_at` are stored)."""
    return value.cast(pl.Datetime("us")).dt.replace_time_zone("UTC").dt.convert_time_zone(KST_NAME)


TICK_TABLES: tuple[TickTable, ...] = (TRADE_TICKS, ORDERBOOK_TICKS, EXPECTED_TICKS, MARKET_STATUS)
TABLE_BY_TR: dict[str, TickTable] = {tr: table for table in TICK_TABLES for tr in table.tr_ids}

STREAM_REJECTS = TableSpec(
    "stream_rejects",
    pl.Schema(
        {
            "date": pl.Date,
            "received_at": _TS,
            "segment_id": _S,
            "seq": _I,
            "record": pl.Int32,  # null: the whole frame
            "tr_id": _S,
            "reason": _S,
            "raw": _S,
        }
    ),
    "date",
    "date",
    ("segment_id", "seq", "record"),
    ("received_at", "seq"),
    "Frames (or records of frames) the collector received but persistence could not parse, raw.",
)

STREAM_GAPS = TableSpec(
    "stream_gaps",
    pl.Schema(
        {
            "date": pl.Date,  # the KST day the gap started
            "gap_id": _S,
            "started_at": _TS,  # receive time of the last frame before it
            # When the next session had its subscriptions back; or when the collector stopped
            # (`session_after` null).
            "ended_at": _TS,
            "reason": _S,  # why the session before it ended
            "session_before": _S,
            "session_after": _S,
            "symbols": _I,  # symbols whose trades a refill from REST was tried for (0: none)
            "rest_rows": _I,  # trade_ticks rows it added, with source 'rest'
            # Every symbol's missing trades refilled; null when no refill was tried.
            "rest_covered": _B,
            "rest_uncovered": _S,  # comma-separated symbols the 30 executions did not cover
            "note": _S,
        }
    ),
    "date",
    "date",
    ("gap_id",),
    ("started_at",),
    "One row per hole in the tick stream (a dropped or silent connection, a collector killed "
    "and restarted): when it started and ended, and how much of its trades REST refilled.",
)

TICK_TABLE_NAMES: tuple[str, ...] = tuple(t.name for t in TICK_TABLES)

for _table in TICK_TABLES:
    register_table(_table.spec)
register_table(STREAM_REJECTS)
register_table(STREAM_GAPS)
