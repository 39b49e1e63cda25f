"""Errors that stop the collector, each with a one-line message saying what to do.

They derive from `KisError`, so the `kis-pipeline` command prints them as one line.
"""

from __future__ import annotations

from kis_pipeline.kis.errors import KisError


class StreamError(KisError):
    """The collector cannot run; the message says why and what to do."""


class CollectorBusy(StreamError):
    """Another collector on this machine already holds the app key's WebSocket session."""


class SessionRefused(StreamError):
    """KIS refused the session: another session is open with this app key (OPSP8996)."""


class ApprovalRefused(StreamError):
    """KIS refused the WebSocket approval key even after issuing a fresh one."""


class SpoolFailed(StreamError):
    """Received frames could not be written to the spool (disk full, permissions)."""
