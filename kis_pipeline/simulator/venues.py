"""The two venues a Korean stock trades on since 2025: KRX and Nextrade (NXT), and their sum.

`FID_COND_MRKT_DIV_CODE` chooses one (SPEC §1, gotcha 11): `J` KRX, `NX` NXT, `UN` the
combined market. The KRX bar is the model's (`market.Market`); this module derives the others
from it, deterministically:

- NXT opened on 2025-03-04 and lists a part of the market: a name KIS describes as NXT-tradable
  (`cptt_trad_tr_psbl_yn`, the same rule as stock basic info), never a KONEX one. Before the
  opening, or for another name, `NX` has no bar and `UN` is the KRX bar.
- NXT runs longer hours (08:00 pre-market to 20:00 after-market), so its open is the pre-market's,
  near the previous KRX close (NXT's base price), and its close is the evening's, near the KRX
  close; its range covers the KRX range (both trade through the regular session) and its own
  open and close; it trades 5 to 20 % of the KRX volume.
- The combined bar opens with NXT (08:00), closes with NXT (20:00), spans both ranges and sums
  volumes and values. Both keep the KRX base price (`prev_close`) and event flags.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np

from kis_pipeline.simulator.market_ticks import price_limits, round_tick
from kis_pipeline.simulator.market_types import DailyBar
from kis_pipeline.simulator.rest_market import noise

NXT_START = dt.date(2025, 3, 4)
NXT_SHARE = 0.3  # of the names tradable on Nextrade
KRX, NXT, COMBINED = "J", "NX", "UN"


def nxt_tradable(listing: Any) -> bool:
    return listing.market != "KONEX" and noise(listing.symbol, "nxt") < NXT_SHARE


def trades_on(code: str, listing: Any, day: dt.date) -> bool:
    """Whether venue `code` has the name's trades on `day` (the combined market always does)."""
    return code != NXT or nxt_on(listing, day)


def nxt_on(listing: Any, day: dt.date) -> bool:
    """Whether Nextrade trades the name on `day` (and so its longer hours apply)."""
    return day >= NXT_START and nxt_tradable(listing)


def on_venue(code: str, listing: Any, bar: DailyBar | None) -> DailyBar | None:
    """`bar` (KRX's) as venue `code` saw the day, or None where the venue has no bar."""
    if bar is None or code == KRX:
        return bar
    if not nxt_on(listing, bar.date):
        return None if code == NXT else bar
    nxt = _nxt_bar(listing.symbol, bar)
    return nxt if code == NXT else _combined(bar, nxt)


def _tick(price: float, base: int) -> int:
    upper, lower = price_limits(base)
    return min(max(int(round_tick(np.array([price]))[0]), lower), upper)


def _nxt_bar(symbol: str, bar: DailyBar) -> DailyBar:
    day = bar.date
    base = bar.prev_close
    opened = _tick(base * (1 + 0.02 * (noise(symbol, day, "nxt_open") - 0.5)), base)
    closed = _tick(bar.close * (1 + 0.02 * (noise(symbol, day, "nxt_close") - 0.5)), base)
    high, low = max(bar.high, opened, closed), min(bar.low, opened, closed)
    volume = max(1, round(bar.volume * (0.05 + 0.15 * noise(symbol, day, "nxt_volume"))))
    value = round(volume * (high + low + 2 * closed) / 4)
    return dataclasses.replace(
        bar, open=opened, high=high, low=low, close=closed, volume=volume, value=value
    )


def _combined(krx: DailyBar, nxt: DailyBar) -> DailyBar:
    return dataclasses.replace(
        krx,
        open=nxt.open,
        high=max(krx.high, nxt.high),
        low=min(krx.low, nxt.low),
        close=nxt.close,
        volume=krx.volume + nxt.volume,
        value=krx.value + nxt.value,
    )
