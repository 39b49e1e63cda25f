"""`SymbolTrend`: a daily trend endpoint (SPEC §9.6, §9.8-§9.12) declared once.

Each such endpoint takes one key (a symbol, or a market for §9.8) and a date (or a range) and
answers a run of days, one record per session; an undated one (no date parameter) answers its
newest sessions, one page. A family is its `Endpoint` (path, TR_ID, container and `RecordSpec`
of fields, units and rules), its `Window` (where a call's dates go, and the rows a call holds)
and its parameters, `KEY` marking the one that carries the key; the generic fetcher
(`ingest.symbol_trends`) and the asset factory (`defs.market_activity`) need nothing else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from kis_pipeline.kis.endpoints._base import Endpoint
from kis_pipeline.kis.records import RecordSpec

if TYPE_CHECKING:
    from kis_pipeline.kis.client import KisClient

QUOTATIONS = "/uapi/domestic-stock/v1/quotations"
KEY = "{key}"
"""The value, in a family's parameters, that each call replaces with its key (or the value the
family's `keys` send for it)."""
SYMBOL = KEY
# Sessions a walked endpoint answers per call where SPEC states no cap: what KIS's other
# daily trends answer.
DEFAULT_SESSIONS = 30


def quotation(
    section: str, name: str, tr_id: str, rows: RecordSpec, container: str = "output"
) -> Endpoint:
    """A domestic quotation endpoint (`/uapi/domestic-stock/v1/quotations/<name>`)."""
    return Endpoint(name, f"{QUOTATIONS}/{name}", tr_id, container, rows, section=section)


@dataclass(frozen=True)
class Window:
    """Where a call's dates go: `end`, the parameter of the window's last day, and `start`,
    that of the first day on a range endpoint; `rows`, the documented cap per call (None: not
    documented); `prefix`, the padding of 10-character dates; `by`, the column whose oldest
    value moves the window back (SPEC §6.2). An empty `end` declares an undated endpoint: it
    takes no date and answers its newest `rows` sessions in one call, with no further page."""

    end: str
    start: str = ""
    rows: int | None = None
    prefix: str = ""
    by: str = "date"


@dataclass(frozen=True)
class Fan:
    """Each key's call made once per value of `param`, the value stored in `column`: the
    values are the comma-separated list in the environment variable `env`, else `default`,
    each matching `pattern` (`what` says what a value looks like)."""

    param: str
    column: str
    env: str
    default: tuple[str, ...]
    pattern: str
    what: str

    def values(self) -> tuple[str, ...]:
        raw = os.environ.get(self.env, "").strip()
        values = tuple(dict.fromkeys(v.strip() for v in raw.split(",") if v.strip()))
        bad = [v for v in values if not re.fullmatch(self.pattern, v)]
        if bad:
            raise ValueError(f"{self.env} has invalid codes {', '.join(bad)}; use {self.what}")
        return values or self.default


@dataclass(frozen=True)
class SymbolTrend:
    """One family. `sessions_per_call` is what one call answers: the window's cap, else
    `DEFAULT_SESSIONS` (the plan's estimate; the walk follows whatever comes). `lead` widens
    the window's end where the window moves by another date than the row's (a settlement
    date trails its trade by two sessions). `constants` fill columns no record carries.

    `key` names the column a call's key fills; `keys`, when given, is the family's fixed set of
    keys (the markets), each with the value sent for it; empty, the keys are the listed
    symbols. `kept` is how far back KIS answers (None: as far as the history goes). `each`
    repeats every key's call for each of its values (a stock's flows per member firm)."""

    declared: Endpoint
    window: Window
    params: Mapping[str, str]
    sessions: int | None = None
    lead: dt.timedelta = dt.timedelta(0)
    constants: Mapping[str, str] = field(default_factory=dict)
    key: str = "symbol"
    keys: Mapping[str, str] = field(default_factory=dict)
    kept: dt.timedelta | None = None
    each: Fan | None = None

    @property
    def dated(self) -> bool:
        """Whether a call names its window's dates (else it answers its newest page)."""
        return bool(self.window.end)

    @functools.cached_property
    def endpoint(self) -> Endpoint:
        """The declared endpoint with the window's paging."""
        w = self.window
        return dataclasses.replace(
            self.declared,
            window_end=(w.end,) if w.end else (),
            window_start=(w.start,) if w.start else (),
            page_rows=w.rows,
            date_prefix=w.prefix,
            window_column=w.by,
        )

    @property
    def rows(self) -> RecordSpec:
        spec = self.declared.rows
        assert spec is not None, f"{self.declared.where()} declares no RecordSpec"
        return spec

    @property
    def table(self) -> str:
        return self.rows.table

    @property
    def schema(self) -> pl.Schema:
        return self.rows.schema

    @property
    def title(self) -> str:
        return self.table.replace("_", " ")

    @property
    def section(self) -> str:
        return self.declared.section

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns that identify a row: the date, the key and the fanned-out column."""
        return ("date", self.key, *((self.each.column,) if self.each else ()))

    @property
    def sessions_per_call(self) -> int:
        return self.sessions or self.window.rows or DEFAULT_SESSIONS

    def calls(self, sessions: int) -> int:
        """Calls one key needs for a run of `sessions` sessions."""
        fanned = len(self.each.values()) if self.each else 1
        if not self.dated:
            return fanned
        return max(1, -(-sessions // self.sessions_per_call)) * fanned

    def too_old(self, days: Sequence[dt.date], today: dt.date) -> str | None:
        """The one line that says which of `days` KIS keeps no longer, or None."""
        if self.kept is None:
            return None
        oldest = today - self.kept
        old = sorted(d for d in days if d < oldest)
        if not old:
            return None
        return (
            f"{self.table}: KIS keeps {self.kept.days} days of {self.title} (SPEC "
            f"{self.section}): {len(old)} day(s) from {old[0]} to {old[-1]} are older than "
            f"{oldest} and are skipped, nothing is stored for them"
        )

    def kept_days(self, days: Sequence[dt.date], today: dt.date) -> list[dt.date]:
        """The days of `days` KIS still answers for."""
        return [d for d in days if self.kept is None or d >= today - self.kept]

    def fetch(self, client: KisClient, key: str, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Rows of `key` for the sessions in [start, end], ascending, in `schema`; from an
        undated endpoint, every row of its one page, whatever the range, so that the caller
        sees how far back (and forward) the page reached and keeps its own days."""
        if self.each is not None:
            each = self.each
            frames = [
                self._walk(client, key, start, end, {each.param: v}, {each.column: v})
                for v in each.values()
            ]
            return pl.concat(frames, how="vertical")
        return self._walk(client, key, start, end, {}, {})

    def _walk(
        self,
        client: KisClient,
        key: str,
        start: dt.date,
        end: dt.date,
        params: Mapping[str, str],
        constants: Mapping[str, str],
    ) -> pl.DataFrame:
        sent = self.keys.get(key, key)
        params = {**{k: sent if v == KEY else v for k, v in self.params.items()}, **params}
        constants = {**self.constants, self.key: key, **constants}
        if not self.dated:
            return self.endpoint.fetch(client, params, constants=constants).frame.sort("date")
        frame = self.endpoint.walk(client, params, start, end + self.lead, constants=constants)
        if self.lead:
            frame = frame.filter(pl.col("date").is_between(start, end)).sort("date")
        return frame
