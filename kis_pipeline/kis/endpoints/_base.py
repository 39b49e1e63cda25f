"""What every endpoint module shares: the `Endpoint` declaration (path, TR_ID, name, the
container holding its records, their `RecordSpec` of fields, units and rules, and the paging
model) with its call, its parse, and window walking (`kis.paging.walk_frames`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from kis_pipeline.kis.paging import walk_frames
from kis_pipeline.kis.parse import drop_blank_rows, rows_of, yyyymmdd
from kis_pipeline.kis.records import RecordSpec, Source, Split, parse_page

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient, KisResponse


@dataclass(frozen=True)
class Endpoint:
    """One KIS REST endpoint; `where()` labels errors with its TR_ID and name.

    `container` and `rows` declare where an answer's records are and how each one becomes a
    row. Window walking (SPEC §6.2) is declared by `window_end`, the request parameters that
    carry a window's last day (`YYYYMMDD`), and `page_rows`, the documented rows-per-call cap
    (None: not documented). A range endpoint also names `window_start`, the parameters that
    carry the range's first day; `date_prefix` pads the dates where the portal documents
    10 characters (`00YYYYMMDD`, SPEC §1); `window_column` is the column whose oldest value
    moves the window (a date other than the row's own, such as a settlement date).
    `section` names the SPEC section that documents it.
    """

    name: str
    path: str
    tr_id: str
    container: str = "output"
    rows: RecordSpec | None = None
    window_end: tuple[str, ...] = ()
    page_rows: int | None = None
    window_start: tuple[str, ...] = ()
    date_prefix: str = ""
    window_column: str = "date"
    section: str = ""

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
        rows = self.records(response, container)
        return self.parse_rows(client, rows, container, spec, constants=constants)

    def records(self, response: KisResponse, container: str | None = None) -> list[dict[str, str]]:
        """The records of one output container, blank ones (KIS's padding) left out."""
        container = container or self.container
        return drop_blank_rows(rows_of(response.body, container, where=self.where(container)))

    def fetch(
        self,
        client: KisClient,
        params: Mapping[str, str],
        *,
        constants: Mapping[str, Any] | None = None,
        rows: RecordSpec | None = None,
    ) -> Split:
        """One call, its container parsed through the declared `rows` (or `rows` given)."""
        spec = self._spec(rows)
        response = self.call(client, params)
        return self.parse(client, response, self.container, spec, constants=constants)

    def walk(
        self,
        client: KisClient,
        params: Mapping[str, str],
        start: dt.date,
        end: dt.date,
        *,
        constants: Mapping[str, Any] | None = None,
        rows: RecordSpec | None = None,
    ) -> pl.DataFrame:
        """Window walking from `end` back to `start`, `params` completed by each window's end;
        one row per date, ascending, in the records' schema."""
        if not self.window_end:
            raise TypeError(f"{self.where()} declares no window_end parameter; it does not walk")
        if start > end:
            raise ValueError(f"start {start} is after end {end}")
        spec = self._spec(rows)

        first = dict.fromkeys(self.window_start, self.date_prefix + yyyymmdd(start))

        def page(last_day: dt.date) -> Split:
            window = dict.fromkeys(self.window_end, self.date_prefix + yyyymmdd(last_day))
            return self.fetch(client, {**params, **first, **window}, constants=constants, rows=spec)

        paging = {"page_rows": self.page_rows, "date_column": self.window_column}
        return walk_frames(page, start=start, end=end, schema=spec.schema, **paging)

    def _spec(self, rows: RecordSpec | None) -> RecordSpec:
        spec = rows or self.rows
        if spec is None:
            raise TypeError(f"{self.where()} declares no RecordSpec; pass rows=")
        return spec

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
