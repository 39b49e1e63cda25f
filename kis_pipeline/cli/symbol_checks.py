"""Which symbols a command may name: spelled like a KRX code, and listed.

Checked before any KIS call, so a typo is one line instead of a refused subscription or an
empty partition. Listed means: in the newest `symbols` snapshot of the warehouse, else in the
master files (downloaded outside the API gateway: no rate-limited call).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kis_pipeline.defs.backend import open_warehouse
from kis_pipeline.kis.settings import KisSettings

SYMBOL_PATTERN = re.compile(r"^(?:Q?\d{6}|[0-9A-Z]{6})$")


class SymbolError(ValueError):
    """Symbols that cannot be used; the message is one line saying which and why."""


def check_spelling(symbols: Sequence[str]) -> None:
    bad = [s for s in symbols if not SYMBOL_PATTERN.match(s)]
    if bad:
        raise SymbolError(
            f"malformed symbol(s) {', '.join(bad)}: a symbol is a 6-character code like 005930"
        )


def check_listed(symbols: Sequence[str], settings: KisSettings, *, delisted: bool = False) -> None:
    """Raise `SymbolError` naming every symbol that is not listed (and the list asked); with
    `delisted`, a name the newest `listings` knows as delisted is accepted too (a backfill of
    the days it traded)."""
    if not symbols:
        return

    wh = open_warehouse(settings)
    dates = wh.partitions("symbols")
    if dates:
        listed = set(wh.read("symbols", [dates[-1]])["symbol"].to_list())
        source = f"the {dates[-1]} symbols snapshot ({len(listed)} symbols)"
    else:
        from kis_pipeline.kis.client import KisClient
        from kis_pipeline.kis.endpoints.master import fetch_universe

        with KisClient(settings) as client:
            listed = set(fetch_universe(client)["symbol"].to_list())
        source = f"the master files ({len(listed)} stocks)"
    if delisted and (known := wh.partitions("listings")):
        gone = wh.select(
            "listings", "as_of = CAST(? AS DATE) AND delisted_on IS NOT NULL", [known[-1]]
        )
        listed |= set(gone["symbol"].to_list())
        source += f" or the names delisted since in the {known[-1]} listings"
    unknown = [s for s in symbols if s not in listed]
    if unknown:
        raise SymbolError(f"unknown symbol(s) {', '.join(unknown)}: not in {source}")
