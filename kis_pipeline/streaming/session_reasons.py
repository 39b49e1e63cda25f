"""Why a collector session ended or was refused, and what a gap record says, in one line each
(the spool's session_end reasons and the command's echo)."""

from __future__ import annotations

import asyncio
from typing import Any

import websockets

from kis_pipeline.kis.errors import AppKeyInUse, ApprovalKeyRejected
from kis_pipeline.streaming.errors import SpoolFailed


def describe_gap(body: dict[str, Any]) -> str:
    if body["type"] == "gap":
        seconds = (body["ended_ns"] - body["started_ns"]) / 1e9
        line = f"gap of {seconds:.1f} s in the stream ({body['reason']})"
        return line + (f"; {body['note']}" if body.get("note") else "")
    if body["type"] == "gap_refilled":
        line = f"refilled {body['rest_rows']} trade(s) of the gap from REST"
        if body.get("note"):
            return f"{line}; {body['note']}"
        uncovered = body.get("rest_uncovered") or []
        if uncovered:
            return f"{line}; 30 executions did not reach back for {', '.join(uncovered)}"
        return f"{line}; every symbol covered"
    return ""


def refusal_reason(error: BaseException) -> str:
    if isinstance(error, AppKeyInUse):
        return f"app_key_in_use: {error.msg_cd} {error.msg}"
    if isinstance(error, ApprovalKeyRejected):
        return f"approval_key_rejected: {error.msg_cd} {error.msg}"
    if isinstance(error, websockets.exceptions.ConnectionClosed):
        return describe_close(error)
    return f"error: {error}"


def closed_reason(receiver: asyncio.Task[Any]) -> str:
    if receiver.cancelled():
        return "cancelled"
    error = receiver.exception() if receiver.done() else None
    if isinstance(error, websockets.exceptions.ConnectionClosed):
        return describe_close(error)
    if isinstance(error, SpoolFailed):
        return f"spool_failed: {error}"
    if error is not None:
        return f"error: {type(error).__name__}: {error}"
    return "closed"


def describe_close(error: websockets.exceptions.ConnectionClosed) -> str:
    if error.rcvd is None:
        return "connection lost: no close frame (dropped by the server or the network)"
    reason = f" {error.rcvd.reason}" if error.rcvd.reason else ""
    return f"closed by the server: code {error.rcvd.code}{reason}"
