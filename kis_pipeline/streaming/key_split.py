"""One watchlist over several app keys: one WebSocket session per key, 41 registrations each.

KIS allows one WebSocket session per app key and counts every registration of a session against
a budget of 41 (SPEC §15). With several keys (`KIS_APP_KEYS`) the runner starts one collector
per key, each holding its share of the feeds with its own approval key, so a watchlist may need
up to 41 registrations per key.

The split fills the keys in order: the first key's session takes the first 41 feeds of the plan
(the watchlist's best symbols), the next key the following 41, and so on. Balancing the feeds
evenly would open a session on every key even for a small watchlist; filling in order opens
only as many sessions as the watchlist needs and leaves the last keys' single sessions free (for
another host, or for KIS's own sample tools), and with one key it is the plan of one collector.

A symbol's feeds stay in the plan's order, so at a boundary its trades may go to one key and its
order book to the next: each feed fills its own table, so nothing depends on them sharing a
session.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from kis_pipeline.streaming.errors import StreamError
from kis_pipeline.streaming.subscriptions import FeedPlan


class WatchlistTooLarge(StreamError):
    """An explicit watchlist needs more registrations than the app keys' sessions hold."""


def keys_needed(registrations: int, budget: int) -> int:
    return max(1, math.ceil(registrations / budget))


def check_capacity(
    symbols: Sequence[str], trs: Sequence[str], keys: int, budget: int, *, extra: int = 0
) -> None:
    """Raise WatchlistTooLarge (one line, saying how many keys it needs) unless every feed of
    `symbols` x `trs`, and `extra` more (overseas feeds), fits in `keys` sessions of `budget`
    registrations."""
    count = len(dict.fromkeys(symbols))
    feeds = len(dict.fromkeys(trs))
    needed = count * feeds + extra
    if needed <= keys * budget:
        return
    have = f"{keys} app key{'s' if keys > 1 else ''}"
    raise WatchlistTooLarge(
        f"the watchlist needs {needed} WebSocket registrations ({count} symbols x {feeds} "
        f"feed(s){f' and {extra} overseas' if extra else ''}) but {have} allow "
        f"{keys * budget} ({budget} per key's session); it needs "
        f"{keys_needed(needed, budget)} app keys: list them in KIS_APP_KEYS/KIS_APP_SECRETS, "
        "or stream fewer symbols or feeds"
    )


def split_plan(plan: FeedPlan, budget: int) -> list[FeedPlan]:
    """`plan` cut into consecutive shares of at most `budget` feeds, one per key that has any
    (see the module docstring); feeds left out of `plan` stay with the last share."""
    feeds = plan.feeds
    shares = [feeds[start : start + budget] for start in range(0, len(feeds), budget)] or [()]
    last = len(shares) - 1
    return [
        FeedPlan(share, plan.over_budget if index == last else ())
        for index, share in enumerate(shares)
    ]
