"""What every endpoint module shares: the `Endpoint` record (path, TR_ID, name), its call,
and the parse of an answer's container through a declared `RecordSpec` (`kis.records`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kis_pipeline.kis.parse import drop_blank_rows, rows_of
from kis_pipeline.kis.records import RecordSpec, Source, Split, parse_page

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

    def parse(
        self,
        client: KisClient,
        response: KisResponse,
        container: str,
        spec: RecordSpec,
        *,
        constants: Mapping[str, Any] | None = None,
    ) -> Split:
        """The records of one output container split into rows and rejects; the rejects go
        to the client's log (a client without one raises `PayloadError` on the first)."""
        where = self.where(container)
        rows = drop_blank_rows(rows_of(response.body, container, where=where))
        return self.parse_rows(client, rows, container, spec, constants=constants)

    def parse_rows(
        self,
        client: KisClient,
        rows: Sequence[Mapping[str, str]],
        container: str,
        spec: RecordSpec,
        *,
        constants: Mapping[str, Any] | None = None,
    ) -> Split:
        """`parse` of records already taken out of their container."""
        # Test doubles of the client may keep no log: they get the strict behaviour.
        log = getattr(client, "rejects", None)
        source = Source(self.name, self.tr_id, self.where(container))
        return parse_page(rows, spec, source, log, constants=constants)


# FID_COND_MRKT_DIV_CODE values -> the `venue` column (SPEC §18.11: J is KRX only since NXT).
VENUES: dict[str, str] = {"J": "KRX", "NX": "NXT", "UN": "KRX+NXT", "U": "INDEX"}


def venue_of(market: str) -> str:
    if market not in VENUES:
        raise ValueError(f"unknown market division code {market!r}; use one of {list(VENUES)}")
    return VENUES[market]
