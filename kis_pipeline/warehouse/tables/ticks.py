"""The tick tables (DESIGN §3.4): trades, order book, expected executions, market status.

Every tick table is partitioned by `date` (the exchange-local trading date) and written one piece
per spool segment, so each row carries `segment_id`, `seq` (the frame's sequence number in that
collector run) and `record` (its position in a multi-record frame): (segment_id, seq, record) is
unique, and a rerun of a segment replaces exactly its own rows.

`ts` is the frame's own date and time where KIS sends both (trades, expected executions), the
segment's session date with the frame's time where it sends only a time (order book), and
`received_at` where it sends no time at all (market status, by design). Prices are KRW integers,
volumes shares, values KRW. `trade_ticks.source` says where a trade came from: 'websocket', or
'rest' for one the WebSocket lost in a hole and REST refilled (REST gives time, price, change,
volume and strength only, so the other columns are null). Files written before the column existed
read it as null, which means 'websocket'. Which wire column fills which table column is the
collector's knowledge (`streaming.tables`).
"""

from __future__ import annotations

import polars as pl

from kis_pipeline.common.clock import KST_NAME
from kis_pipeline.warehouse.tables.spec import (
    Layout,
    TableSpec,
    ViewSpec,
    register_table,
    register_view,
)

TS = pl.Datetime("us", KST_NAME)
_I = pl.Int64
_F = pl.Float64
_S = pl.String
_B = pl.Boolean
LEVELS = range(1, 11)

# A day of ticks is large (millions of rows): one folder per day, merged by maintenance into
# few files sorted by (symbol, ts).
DAILY_FILES = Layout(("date",))

# `venue`: KRX, NXT or KRX+NXT, the market whose feed the row came from (KIS_VENUE).
_HEAD = {"date": pl.Date, "ts": TS, "received_at": TS, "symbol": _S, "venue": _S}
_TAIL = {"tr_id": _S, "segment_id": _S, "seq": _I, "record": pl.Int32}


def _tick_table(name: str, columns: dict[str, pl.DataType], description: str) -> TableSpec:
    return register_table(
        TableSpec(
            name,
            pl.Schema({**_HEAD, **columns, **_TAIL}),
            "date",
            "date",
            ("segment_id", "seq", "record"),
            ("symbol", "ts"),
            description,
            layout=DAILY_FILES,
        )
    )


TRADE_TICKS = _tick_table(
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
)

ORDERBOOK_TICKS = _tick_table(
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
)

EXPECTED_TICKS = _tick_table(
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
)

MARKET_STATUS = _tick_table(
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
)

PROGRAM_TICKS = _tick_table(
    "program_ticks",
    {
        "sell_volume": _I,
        "sell_value": _I,
        "buy_volume": _I,
        "buy_value": _I,
        "net_volume": _I,
        "net_value": _I,
        "ask_quantity": _I,
        "bid_quantity": _I,
        "net_bid_quantity": _I,
    },
    "One row per program-trading update of a stock (H0STPGM0): the day's program sells, buys "
    "and net so far, in shares and KRW, and the resting quantities of the book.",
)

OVERSEAS_TICKS = _tick_table(
    "overseas_ticks",
    {
        "price": _F,
        "volume": _I,
        "cum_volume": _I,
        "cum_value": _F,
        "open": _F,
        "high": _F,
        "low": _F,
        "change": _F,
        "change_sign": _S,
        "change_rate": _F,
        "bid_price": _F,
        "ask_price": _F,
        "bid_volume": _I,
        "ask_volume": _I,
        "sold_volume": _I,
        "bought_volume": _I,
        "trade_strength": _F,
        "session": _S,
        "local_date": pl.Date,
        "local_time": _S,
    },
    "One row per delayed overseas trade (HDFSCNT0): ts and date in Korean time, local_date and "
    "local_time the exchange's; venue the exchange code (NAS, HKS, ...); prices in the local "
    "currency; change is the size of the move from the previous close, change_sign its "
    "direction (2 up, 5 down); session 1 regular, 2 pre-market, 3 after-market.",
)

# A VI is applied on a notice with VI_CLS_CODE (or, after hours, OVTM_VI_CLS_CODE) Y after one
# without, and released on the next notice without; notices come in the order received.
_NOTICES = (
    "SELECT date, symbol, ts, received_at, status_code, segment_id, seq, record, "
    "CASE WHEN after_hours_vi_code = 'Y' THEN 'after_hours' ELSE 'regular' END AS kind, "
    "coalesce(vi_code = 'Y' OR after_hours_vi_code = 'Y', false) AS applied "
    'FROM "market_status"'
)
_CHANGES = (
    "SELECT *, applied AND NOT coalesce(lag(applied) OVER w, false) AS starts, "
    "NOT applied AND coalesce(lag(applied) OVER w, false) AS ends "
    f"FROM ({_NOTICES}) WINDOW w AS (PARTITION BY date, symbol ORDER BY ts, segment_id, seq, "
    "record)"
)
VI_EVENTS = register_view(
    ViewSpec(
        "vi_events",
        "market_status",
        "SELECT date, symbol, kind, ts AS triggered_at, released_at, status_code FROM ("
        "SELECT *, lead(ts) OVER (PARTITION BY date, symbol ORDER BY ts, segment_id, seq, "
        f"record) AS released_at FROM ({_CHANGES}) WHERE starts OR ends) WHERE starts",
    )
)
"""One row per volatility interruption (VI) of a stock, from the streamed market-status
notices (H0STMKO0): when it was applied (`triggered_at`) and released (`released_at`, null
while it lasts or when the stream stopped first), regular or after-hours (`kind`)."""
