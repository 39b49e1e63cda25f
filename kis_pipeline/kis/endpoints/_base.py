"""What every endpoint module shares: the `Endpoint` record (path, TR_ID, name) and its call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient, KisResponse


@dataclass(frozen=True)
class Endpoint:
    """One KIS REST endpoint; `where()` labels errors with its TR_ID and name."""

    name: str
    path: str
    tr_id: str

    def call(
        self, client: KisClient, params: Mapping[str, str], *, tr_cont: str = ""
    ) -> KisResponse:
        return client.get(self.path, self.tr_id, dict(params), tr_cont=tr_cont)

    def where(self, container: str = "") -> str:
        label = f"{self.tr_id} {self.name}"
        return f"{label} {container}" if container else label


# FID_COND_MRKT_DIV_CODE values -> the `venue` column (SPEC §18.11: J is KRX only since NXT).
VENUES: dict[str, str] = {"J": "KRX", "NX": "NXT", "UN": "KRX+NXT", "U": "INDEX"}


def venue_of(market: str) -> str:
    if market not in VENUES:
        raise ValueError(f"unknown market division code {market!r}; use one of {list(VENUES)}")
    return VENUES[market]
