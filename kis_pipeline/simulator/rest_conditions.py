"""Condition search (SPEC §7.12): the saved screening conditions of an HTS user
(`psearch-title`, HHKST03900300) and the names one of them matches now (`psearch-result`,
HHKST03900400, at most 100, one quote row each, on the last completed session).

Every user has the same two saved conditions here (`SAVED`): the most traded names by value,
and the names that closed within 5 % of their 52-week high. Numbers come as KIS writes them,
fixed-width with four decimals and leading zeros or spaces; the market cap is KRW 100 million.
A condition that matches nothing answers MCA05918, as KIS does; an unknown `seq` is OPSQ2001.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kis_pipeline.simulator.market_ticks import price_limits
from kis_pipeline.simulator.rest_common import (
    Endpoint,
    Params,
    Reply,
    invalid_param,
    ok,
    unknown_symbol,
)
from kis_pipeline.simulator.rest_market import MarketView
from kis_pipeline.simulator.rest_quotes import change_fields

QUOTATIONS = "/uapi/domestic-stock/v1/quotations"
RESULT_CAP = 100
YEAR = dt.timedelta(days=365)


@dataclass(frozen=True)
class Member:
    """A name a condition matches, with what its quote row needs."""

    symbol: str
    name: str
    bar: Any
    high52: int
    low52: int
    listed_shares: int


def _members(view: MarketView, day: dt.date) -> list[Member]:
    def build() -> list[Member]:
        out = []
        for symbol, snap in view.universe_snapshot(day).items():
            listing = view.listing(symbol)
            year = view.market.daily_bars(symbol, day - YEAR, day)
            out.append(
                Member(
                    symbol,
                    listing.name,
                    snap.bar,
                    max(b.high for b in year),
                    min(b.low for b in year),
                    listing.listed_shares,
                )
            )
        return out

    return view.memo(("condition_members", day), build)


def _most_traded(members: list[Member]) -> list[Member]:
    traded = [m for m in members if m.bar.volume > 0]
    return sorted(traded, key=lambda m: (-m.bar.value, m.symbol))


def _near_high(members: list[Member]) -> list[Member]:
    near = [m for m in members if m.bar.volume > 0 and m.bar.close >= 0.95 * m.high52]
    return sorted(near, key=lambda m: (-m.bar.close / m.high52, m.symbol))


# seq -> (group, name, the names it matches, best first).
SAVED: dict[str, tuple[str, str, Callable[[list[Member]], list[Member]]]] = {
    "0": ("기본", "거래대금 상위", _most_traded),
    "1": ("기본", "52주 신고가 근접", _near_high),
}


def matches(view: MarketView, seq: str) -> list[Member]:
    """The names condition `seq` matches on the last completed session, at most 100."""
    return SAVED[seq][2](_members(view, view.session()))[:RESULT_CAP]


def _fixed(value: float, *, zeros: bool = False) -> str:
    """KIS's 16-character numbers: four decimals, right-aligned (zero-filled for prices)."""
    return f"{value:016.4f}" if zeros else f"{value:16.4f}"


def condition_titles(view: MarketView, params: Params, tr_cont: str) -> Reply:
    user_id = params.require("user_id", 40)
    if not user_id:
        raise invalid_param("user_id")
    rows = [
        {"user_id": user_id, "seq": seq, "grp_nm": group, "condition_nm": name}
        for seq, (group, name, _) in SAVED.items()
    ]
    return Reply(ok(output2=rows))


def condition_result(view: MarketView, params: Params, tr_cont: str) -> Reply:
    if not params.require("user_id", 40):
        raise invalid_param("user_id")
    seq = params.require("seq", 10)
    if seq not in SAVED:
        raise invalid_param("seq")
    found = matches(view, seq)
    if not found:
        raise unknown_symbol()  # KIS answers an empty screen this way (SPEC §7.12)
    rows = []
    for m in found:
        bar = m.bar
        change = bar.close - bar.prev_close
        upper, lower = price_limits(bar.prev_close)
        sign = change_fields(bar.close, bar.prev_close)[1]
        rows.append(
            {
                "code": m.symbol,
                "name": m.name,
                "daebi": sign,
                "price": _fixed(bar.close, zeros=True),
                "chgrate": _fixed(round(change / bar.prev_close * 100, 2)),
                "acml_vol": _fixed(bar.volume),
                "trade_amt": _fixed(bar.value),
                "change": _fixed(change),
                "cttr": _fixed(100.0),
                "open": _fixed(bar.open),
                "high": _fixed(bar.high),
                "low": _fixed(bar.low),
                "high52": _fixed(m.high52),
                "low52": _fixed(m.low52),
                "expprice": _fixed(0, zeros=True),
                "expchange": _fixed(0),
                "expchggrate": _fixed(0),
                "expcvol": _fixed(0),
                "chgrate2": _fixed(0),
                "expdaebi": "3",
                "recprice": _fixed(bar.prev_close),
                "uplmtprice": _fixed(upper),
                "dnlmtprice": _fixed(lower),
                "stotprice": _fixed(round(bar.close * m.listed_shares / 1e8, 4)),
            }
        )
    return Reply(ok(output2=rows))


ENDPOINTS = (
    Endpoint(f"{QUOTATIONS}/psearch-title", "HHKST03900300", condition_titles),
    Endpoint(f"{QUOTATIONS}/psearch-result", "HHKST03900400", condition_result),
)
