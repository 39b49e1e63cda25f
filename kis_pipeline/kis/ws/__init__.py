"""The KIS WebSocket protocol (SPEC §15): messages, frame parsing, column layouts, AES.

Pure functions only; the connection itself belongs to the streaming collector.
"""

from __future__ import annotations

from kis_pipeline.kis.ws.columns import COLUMNS, OLDER_WIDTHS, columns_for
from kis_pipeline.kis.ws.protocol import (
    FRAME_INDEX,
    PINGPONG,
    Ack,
    BulkResult,
    DataMessage,
    PingPong,
    Records,
    SegmentParse,
    ServerMessage,
    decode_frame,
    decode_records,
    layout,
    parse_frames,
    parse_message,
    parse_segment,
    pong_text,
    request_message,
    split_records,
    subscribe_message,
    unsubscribe_message,
)

__all__ = [
    "COLUMNS",
    "FRAME_INDEX",
    "OLDER_WIDTHS",
    "PINGPONG",
    "Ack",
    "BulkResult",
    "DataMessage",
    "PingPong",
    "Records",
    "SegmentParse",
    "ServerMessage",
    "columns_for",
    "decode_frame",
    "decode_records",
    "layout",
    "parse_frames",
    "parse_message",
    "parse_segment",
    "pong_text",
    "request_message",
    "split_records",
    "subscribe_message",
    "unsubscribe_message",
]
