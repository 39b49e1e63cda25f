"""The collector's approval keys, from the client's shared token store (SPEC §3.3, §15.8).

One approval key is reused across reconnects; a fresh one is issued only when KIS refuses the
current one (the collector passes it back as `stale`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient
    from kis_pipeline.streaming.collector_config import ApprovalSource


def approval_source(client: KisClient) -> ApprovalSource:
    def get(stale: str | None) -> str:
        return client.approval_key(stale=stale)

    return get
