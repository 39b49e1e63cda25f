"""One WebSocket connection of the collector: where to connect, its bookkeeping while open, how a
session ended, and the socket-level helpers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect

from kis_pipeline.kis.ws.crypto import decrypt_payload

_PONG_MAX = 125  # a WebSocket control frame carries at most 125 bytes


@dataclass
class SessionResult:
    connected: bool
    reason: str
    stable: bool = False
    error: BaseException | None = None


class Live:
    """One open connection's bookkeeping."""

    def __init__(self, ws: ClientConnection, session_id: str) -> None:
        self.ws = ws
        self.session_id = session_id
        self.started = time.monotonic()
        self.last = self.started
        self.frames = 0
        self.reason = ""
        self.error: BaseException | None = None


def ws_endpoint(ws_url: str) -> str:
    """The URL to connect to: KIS's samples use `<base>/tryitout` when no path is given."""
    parts = urlsplit(ws_url)
    return ws_url if parts.path not in ("", "/") else ws_url.rstrip("/") + "/tryitout"


def local_address(ws: ClientConnection) -> str:
    address = ws.local_address
    return f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address or "")


def abort(ws: ClientConnection) -> None:
    transport = getattr(ws, "transport", None)
    if transport is not None:
        transport.abort()


async def open_ws(url: str, max_message_bytes: int, open_timeout_s: float) -> ClientConnection:
    return await connect(
        url,
        ping_interval=None,  # KIS's heartbeat is its PINGPONG message
        compression=None,
        max_size=max_message_bytes,
        open_timeout=open_timeout_s,
        close_timeout=2.0,
        user_agent_header="kis-pipeline",
    )


async def close_and_reap(ws: ClientConnection, receiver: asyncio.Task[Any]) -> None:
    """Close the socket, give the receive task a moment to see it, then make sure it is over."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ws.close(), 3.0)
    if not receiver.done():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(receiver), 3.0)
    if not receiver.done():
        receiver.cancel()
    with contextlib.suppress(BaseException):
        await receiver


def sender(ws: ClientConnection) -> Callable[[str], Any]:
    async def send(text: str) -> None:
        await ws.send(text)

    return send


def decrypted(data: bytes, keys: Mapping[str, tuple[str, str]]) -> bytes | None:
    """An encrypted frame (`1|tr_id|count|cipher`) as the plain data frame `0|tr_id|count|text`,
    with the TR's (key, iv) from its ack; None when there is no key or it does not decrypt."""
    parts = data.split(b"|", 3)
    if len(parts) == 4:
        key = keys.get(parts[1].decode("ascii", "replace"))
        if key is not None:
            try:
                plain = decrypt_payload(parts[3].decode("ascii"), *key)
                return b"|".join((b"0", parts[1], parts[2], plain.encode()))
            except (ValueError, UnicodeDecodeError):
                pass
    return None


async def answer_pingpong(ws: ClientConnection, data: bytes) -> None:
    """Echo KIS's PINGPONG (SPEC §15.3): as a pong frame when it fits one, else as a message."""
    if len(data) <= _PONG_MAX:
        await ws.pong(data)
    else:
        await ws.send(data.decode("utf-8"))
