"""Tick streaming: WebSocket collector -> sealed spool segments -> tick tables in the warehouse.

Plain Python, no Dagster imports (the Dagster wiring lives in `kis_pipeline.defs.ticks`, the
`kis-pipeline stream` command in `kis_pipeline.cli.stream`).

    collector.py      one WebSocket session per app key: connect, subscribe, receive, reconnect
    collector_config.py  the collector's settings, counters and end-of-run summary
    connection.py     one WebSocket connection: URL, bookkeeping, decrypting, PINGPONG, closing
    session_reasons.py  why a session ended or was refused, and gap records, in one line each
    subscriptions.py  the desired (tr_id, tr_key) set within the 41-registration budget, acks
    backoff.py        capped exponential backoff with jitter between sessions
    approval.py       approval keys from the shared token store
    spool.py          the segment file format and the spool folders (layout in its docstring)
    writer.py         the thread that appends received frames to segments and seals them
    recovery.py       sealing what a killed collector left open
    gaps.py           holes in the stream (drops, kills): recorded, their trades refilled
                      from REST's last 30 executions
    replay.py         what a segment says about sessions (starts, ends, frames)
    heartbeat.py      the collector's liveness file
    locks.py          one collector per app key on this machine
    tables.py         which wire columns fill each tick table (trade_ticks, orderbook_ticks,
                      expected_ticks, market_status); the tables are the warehouse's
    promote.py        one sealed segment -> typed polars frames -> warehouse pieces
    session_ledger.py stream_sessions and stream_gaps rows from the control records
    persist_thread.py in-process persistence for `stream --persist`
    market_hours.py   KRX hours on trading days (calendar-aware)
    watchlist.py      which symbols to stream (explicit, KIS_SYMBOLS, or the volume ranking)
    runner.py         locks + recovery + symbols + stop time + collector (CLI and Dagster)

Data flow: every message the server sends gets a sequence number and a receive timestamp at
once, goes through a bounded queue to the writer thread, and lands in an open segment; every
few seconds the segment is fsynced and renamed into `sealed/`. Persistence (the Dagster sensor,
or `--persist`) turns each sealed segment into warehouse pieces named after the segment, so a
rerun replaces its own rows and never duplicates them.
"""
