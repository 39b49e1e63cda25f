"""A stock's trading-status flags after a session (SPEC §7.1, §7.2), read off its bar and the
day's activity, so they agree with the prices and short sales a user can check them against.

KRX's rules are simplified to what the books hold:
- VI: the session's high or low strayed `VI_MOVE` or more from the base price (the static VI
  band; KRX measures it from the last single price, here from the base);
- halted: no bar on the session;
- short-sale overheating: the close fell `OVERHEAT_DROP` or more and short sales took
  `OVERHEAT_SHORT_SHARE` or more of the day's value;
- market warning: "01" (investment caution) after a rise of `CAUTION_RISE` or more in a day,
  "00" otherwise; KRX's warning and risk stages need weeks of history and are not modelled;
- administrative issue, low liquidity, liquidation trading and short-term overheating are never
  set (no delisting or liquidity process is modelled).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

VI_MOVE = 0.10
OVERHEAT_DROP = -0.05
OVERHEAT_SHORT_SHARE = 0.05
CAUTION_RISE = 0.15


@dataclass(frozen=True)
class StatusFlags:
    vi_applied: bool
    halted: bool
    short_sale_overheat: bool
    market_warning: str  # "00" none, "01" caution

    @property
    def caution(self) -> bool:
        return self.market_warning == "01"


def status_flags(market: Any, symbol: str, bar: Any | None, day: dt.date) -> StatusFlags:
    """The flags of `symbol` after session `day` (`bar` None: it did not trade)."""
    if bar is None:
        return StatusFlags(False, True, False, "00")
    base = bar.prev_close
    vi = base > 0 and (bar.high >= base * (1 + VI_MOVE) or bar.low <= base * (1 - VI_MOVE))
    move = (bar.close - base) / base if base else 0.0
    activity = market.activity(symbol, day)
    short_share = activity.short_value / bar.value if activity is not None and bar.value else 0.0
    overheat = move <= OVERHEAT_DROP and short_share >= OVERHEAT_SHORT_SHARE
    return StatusFlags(bool(vi), False, overheat, "01" if move >= CAUTION_RISE else "00")
